namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Runs independent tasks on up to <see cref="Engine.Threads"/> workers. Each worker pulls task indices from a shared
/// counter and gets a stable worker index, so it can use its own scratch buffers. Which worker runs which task never
/// changes any result: tasks write disjoint outputs and each task's arithmetic is fixed.
/// </summary>
internal static class EngineParallel
{
    public delegate void TaskBody(int task, int worker);

    /// <summary>Runs body(task, worker) for every task in [0, taskCount).</summary>
    public static void Run(int taskCount, int workers, TaskBody body)
    {
        workers = Math.Min(workers, taskCount);
        if (workers <= 1)
        {
            for (int t = 0; t < taskCount; t++) body(t, 0);
            return;
        }
        int next = -1;
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers };
        Parallel.For(0, workers, options, w =>
        {
            int t;
            while ((t = Interlocked.Increment(ref next)) < taskCount) body(t, w);
        });
    }
}
