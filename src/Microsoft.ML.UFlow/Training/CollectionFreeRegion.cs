using System.Runtime;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Runs a short native-heavy call with the garbage collector held off. TorchSharp 0.107 turns numbers into
/// <c>Scalar</c> objects implicitly inside its own code (for example in <c>optim.Adam.step</c>) and does not keep them
/// alive across the native call, so a collection at the wrong moment can free a scalar libtorch is still reading
/// ("Unknown scalar type"; dotnet/TorchSharp pull request 1434). No collection, no early finalisation.
/// </summary>
internal static class CollectionFreeRegion
{
    // Managed allocations of one optimiser step are small wrappers; 32 MB is far above them.
    private const long Budget = 32L << 20;

    public static void Run(Action action)
    {
        bool started = false;
        try
        {
            started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget);
        }
        catch (InvalidOperationException)
        {
            // Another region is active: run as is.
        }
        try
        {
            action();
        }
        finally
        {
            // The region ends by itself when any thread exceeds the budget; ending it again throws.
            if (started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                try
                {
                    GC.EndNoGCRegion();
                }
                catch (InvalidOperationException)
                {
                    // It ended between the check and the call.
                }
            }
        }
    }
}
