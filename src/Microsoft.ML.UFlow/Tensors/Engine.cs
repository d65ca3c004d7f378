namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Engine-wide settings of the managed tensor engine (GEMM, convolution, optimiser kernels).
/// </summary>
/// <remarks>
/// Results never depend on <see cref="Threads"/>: work is split into pieces whose reduction order is fixed, so the
/// same inputs give bit-identical outputs with 1 or many threads.
/// </remarks>
public static class Engine
{
    private static int s_threads = Environment.ProcessorCount;

    /// <summary>
    /// The most threads one engine call uses (default <see cref="Environment.ProcessorCount"/>). Values below 1 throw.
    /// </summary>
    public static int Threads
    {
        get => s_threads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(Threads), value, "The engine needs at least one thread.");
            s_threads = value;
        }
    }

    /// <summary>The GEMM micro-kernel chosen for this processor: "avx512", "avx2" or "scalar".</summary>
    public static string Isa => GemmKernel.Best.Name;
}
