namespace Microsoft.ML.UFlow.Flows;

/// <summary>Runs element-wise work over planes in parallel only when there is enough of it to pay for the threads.</summary>
internal static class FlowParallel
{
    /// <summary>Below this many float operations a loop runs on the calling thread.</summary>
    private const long MinParallelWork = 1 << 15;

    public static void For(int count, int workPerItem, Action<int> body)
    {
        if (count <= 1 || (long)count * workPerItem < MinParallelWork)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, body);
    }
}
