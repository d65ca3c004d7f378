using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// Runs element-wise work over planes on the engine's workers (<see cref="Engine.Threads"/>), only when there is enough
/// of it to pay for the threads. Items write disjoint outputs, so results never depend on the thread count.
/// </summary>
internal static class FlowParallel
{
    /// <summary>Below this many float operations a loop runs on the calling thread.</summary>
    private const long MinParallelWork = 1 << 15;

    public static void For(int count, int workPerItem, Action<int> body)
    {
        if (count <= 1 || Engine.Threads <= 1 || (long)count * workPerItem < MinParallelWork)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        EngineParallel.Run(count, Engine.Threads, (task, _) => body(task));
    }
}
