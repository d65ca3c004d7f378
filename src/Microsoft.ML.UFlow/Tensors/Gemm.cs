namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Single-precision matrix multiplication C = A·B (or C += A·B) on row-major spans, with packed panels, cache
/// blocking, AVX-512 / AVX2-FMA micro-kernels chosen at run time (scalar fallback) and up to
/// <see cref="Engine.Threads"/> threads. Results are bit-identical whatever the thread count.
/// </summary>
public static unsafe class Gemm
{
    /// <summary>
    /// C[M×N] = op(A)·op(B) (+ C when <paramref name="accumulate"/>), where op(A) is M×K and op(B) is K×N. A is stored
    /// row-major M×K, or K×M when <paramref name="transposeA"/>; B is K×N, or N×K when <paramref name="transposeB"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its matrix or a size is negative.</exception>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Matrix sizes must be non-negative (M={m}, N={n}, K={k}).");
        CheckLength(a, (long)m * k, nameof(a), transposeA ? $"{k}×{m}" : $"{m}×{k}");
        CheckLength(b, (long)k * n, nameof(b), transposeB ? $"{n}×{k}" : $"{k}×{n}");
        CheckLength(c, (long)m * n, nameof(c), $"{m}×{n}");
        if (!accumulate) c[..(m * n)].Clear();
        if (m == 0 || n == 0 || k == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            MultiplyCore(GemmKernel.Best, pa, pb, pc, m, n, k, transposeA, transposeB, Engine.Threads);
        }
    }

    /// <summary>C += op(A)·op(B) on raw pointers with an explicit kernel (tests run every supported kernel).</summary>
    internal static void MultiplyCore(GemmKernel kernel, float* a, float* b, float* c, int m, int n, int k, bool transposeA, bool transposeB, int threads)
    {
        Workspace ws = Workspace.Rent();
        try
        {
            var packA = new MatrixA(a, transposeA ? m : k, m, kernel.MR, transposeA);
            float* packed = ws.Floats(0, 0, GemmDriver.PrepackedSize(kernel, m, k));
            PrepackedA pre = GemmDriver.Prepack(kernel, packA, m, k, packed, threads);
            // Column chunks: a few per thread for balance; results do not depend on the chunking.
            int chunks = Math.Max(1, Math.Min(threads * 2, n / kernel.NR));
            int width = GemmDriver.RoundUp((n + chunks - 1) / chunks, kernel.NR);
            chunks = (n + width - 1) / width;
            nint pb = (nint)b, pc = (nint)c;
            EngineParallel.Run(chunks, threads, (t, worker) =>
            {
                int j0 = t * width, j1 = Math.Min(n, j0 + width);
                var packB = new MatrixB((float*)pb, transposeB ? k : n, kernel.NR, transposeB);
                GemmDriver.Run(kernel, pre, ref packB, m, j0, j1, k, (float*)pc, n, ws.Floats(1, worker, GemmDriver.PackedBSize()));
            });
        }
        finally
        {
            Workspace.Return(ws);
        }
    }

    private static void CheckLength(ReadOnlySpan<float> span, long needed, string name, string shape)
    {
        if (span.Length < needed) throw new ArgumentException($"Matrix '{name}' needs {needed} elements ({shape}) but has {span.Length}.", name);
    }
}
