using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// A GEMM micro-kernel: C[MR×NR] += Apanel·Bpanel over kc steps, where the packed A panel holds MR values per k and
/// the packed B panel NR values per k. The accumulators start at zero and are added to C once at the end, so a C
/// element's value depends only on the k-blocking, never on the tiling or the thread that ran it.
/// </summary>
internal readonly unsafe struct GemmKernel
{
    private GemmKernel(string name, int mr, int nr, delegate*<int, float*, float*, float*, int, void> function)
    {
        Name = name;
        MR = mr;
        NR = nr;
        Function = function;
    }

    /// <summary>"avx512", "avx2" or "scalar".</summary>
    public string Name { get; }

    /// <summary>Rows of the C tile.</summary>
    public int MR { get; }

    /// <summary>Columns of the C tile.</summary>
    public int NR { get; }

    /// <summary>The tile function (kc, packedA, packedB, C, ldc).</summary>
    public delegate*<int, float*, float*, float*, int, void> Function { get; }

    public static GemmKernel Avx512 => new("avx512", 12, 32, &Avx512Kernel);

    public static GemmKernel Avx2 => new("avx2", 6, 16, &Avx2Kernel);

    public static GemmKernel Scalar => new("scalar", 4, 8, &ScalarKernel);

    public static bool Avx512Supported => Avx512F.IsSupported;

    public static bool Avx2Supported => System.Runtime.Intrinsics.X86.Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The fastest kernel this processor runs (runtime dispatch).</summary>
    public static readonly GemmKernel Best = Avx512Supported ? Avx512 : Avx2Supported ? Avx2 : Scalar;

    /// <summary>The kernels this processor can run, fastest first (tests check each of them).</summary>
    public static IEnumerable<GemmKernel> Supported()
    {
        if (Avx512Supported) yield return Avx512;
        if (Avx2Supported) yield return Avx2;
        yield return Scalar;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>AVX-512 12×32 tile: 24 zmm accumulators, A broadcast per row, two B vectors per k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512Kernel(int kc, float* a, float* b, float* c, int ldc)
    {
        Sse.Prefetch0(c + 0 * ldc); Sse.Prefetch0(c + 0 * ldc + 16);
        Sse.Prefetch0(c + 1 * ldc); Sse.Prefetch0(c + 1 * ldc + 16);
        Sse.Prefetch0(c + 2 * ldc); Sse.Prefetch0(c + 2 * ldc + 16);
        Sse.Prefetch0(c + 3 * ldc); Sse.Prefetch0(c + 3 * ldc + 16);
        Sse.Prefetch0(c + 4 * ldc); Sse.Prefetch0(c + 4 * ldc + 16);
        Sse.Prefetch0(c + 5 * ldc); Sse.Prefetch0(c + 5 * ldc + 16);
        Sse.Prefetch0(c + 6 * ldc); Sse.Prefetch0(c + 6 * ldc + 16);
        Sse.Prefetch0(c + 7 * ldc); Sse.Prefetch0(c + 7 * ldc + 16);
        Sse.Prefetch0(c + 8 * ldc); Sse.Prefetch0(c + 8 * ldc + 16);
        Sse.Prefetch0(c + 9 * ldc); Sse.Prefetch0(c + 9 * ldc + 16);
        Sse.Prefetch0(c + 10 * ldc); Sse.Prefetch0(c + 10 * ldc + 16);
        Sse.Prefetch0(c + 11 * ldc); Sse.Prefetch0(c + 11 * ldc + 16);
        Vector512<float> c0a = default, c0b = default;
        Vector512<float> c1a = default, c1b = default;
        Vector512<float> c2a = default, c2b = default;
        Vector512<float> c3a = default, c3b = default;
        Vector512<float> c4a = default, c4b = default;
        Vector512<float> c5a = default, c5b = default;
        Vector512<float> c6a = default, c6b = default;
        Vector512<float> c7a = default, c7b = default;
        Vector512<float> c8a = default, c8b = default;
        Vector512<float> c9a = default, c9b = default;
        Vector512<float> c10a = default, c10b = default;
        Vector512<float> c11a = default, c11b = default;
        for (int k = 0; k < kc; k++)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0a = Avx512F.FusedMultiplyAdd(a0, b0, c0a); c0b = Avx512F.FusedMultiplyAdd(a0, b1, c0b);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1a = Avx512F.FusedMultiplyAdd(a1, b0, c1a); c1b = Avx512F.FusedMultiplyAdd(a1, b1, c1b);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2a = Avx512F.FusedMultiplyAdd(a2, b0, c2a); c2b = Avx512F.FusedMultiplyAdd(a2, b1, c2b);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3a = Avx512F.FusedMultiplyAdd(a3, b0, c3a); c3b = Avx512F.FusedMultiplyAdd(a3, b1, c3b);
            Vector512<float> a4 = Vector512.Create(a[4]);
            c4a = Avx512F.FusedMultiplyAdd(a4, b0, c4a); c4b = Avx512F.FusedMultiplyAdd(a4, b1, c4b);
            Vector512<float> a5 = Vector512.Create(a[5]);
            c5a = Avx512F.FusedMultiplyAdd(a5, b0, c5a); c5b = Avx512F.FusedMultiplyAdd(a5, b1, c5b);
            Vector512<float> a6 = Vector512.Create(a[6]);
            c6a = Avx512F.FusedMultiplyAdd(a6, b0, c6a); c6b = Avx512F.FusedMultiplyAdd(a6, b1, c6b);
            Vector512<float> a7 = Vector512.Create(a[7]);
            c7a = Avx512F.FusedMultiplyAdd(a7, b0, c7a); c7b = Avx512F.FusedMultiplyAdd(a7, b1, c7b);
            Vector512<float> a8 = Vector512.Create(a[8]);
            c8a = Avx512F.FusedMultiplyAdd(a8, b0, c8a); c8b = Avx512F.FusedMultiplyAdd(a8, b1, c8b);
            Vector512<float> a9 = Vector512.Create(a[9]);
            c9a = Avx512F.FusedMultiplyAdd(a9, b0, c9a); c9b = Avx512F.FusedMultiplyAdd(a9, b1, c9b);
            Vector512<float> a10 = Vector512.Create(a[10]);
            c10a = Avx512F.FusedMultiplyAdd(a10, b0, c10a); c10b = Avx512F.FusedMultiplyAdd(a10, b1, c10b);
            Vector512<float> a11 = Vector512.Create(a[11]);
            c11a = Avx512F.FusedMultiplyAdd(a11, b0, c11a); c11b = Avx512F.FusedMultiplyAdd(a11, b1, c11b);
            a += 12;
            b += 32;
        }
        Accumulate512(c + 0 * ldc, c0a, c0b);
        Accumulate512(c + 1 * ldc, c1a, c1b);
        Accumulate512(c + 2 * ldc, c2a, c2b);
        Accumulate512(c + 3 * ldc, c3a, c3b);
        Accumulate512(c + 4 * ldc, c4a, c4b);
        Accumulate512(c + 5 * ldc, c5a, c5b);
        Accumulate512(c + 6 * ldc, c6a, c6b);
        Accumulate512(c + 7 * ldc, c7a, c7b);
        Accumulate512(c + 8 * ldc, c8a, c8b);
        Accumulate512(c + 9 * ldc, c9a, c9b);
        Accumulate512(c + 10 * ldc, c10a, c10b);
        Accumulate512(c + 11 * ldc, c11a, c11b);
    }

    /// <summary>AVX2 6×16 tile: 12 ymm accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx2Kernel(int kc, float* a, float* b, float* c, int ldc)
    {
        Vector256<float> c0a = default, c0b = default;
        Vector256<float> c1a = default, c1b = default;
        Vector256<float> c2a = default, c2b = default;
        Vector256<float> c3a = default, c3b = default;
        Vector256<float> c4a = default, c4b = default;
        Vector256<float> c5a = default, c5b = default;
        for (int k = 0; k < kc; k++)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> a0 = Vector256.Create(a[0]);
            c0a = Fma.MultiplyAdd(a0, b0, c0a); c0b = Fma.MultiplyAdd(a0, b1, c0b);
            Vector256<float> a1 = Vector256.Create(a[1]);
            c1a = Fma.MultiplyAdd(a1, b0, c1a); c1b = Fma.MultiplyAdd(a1, b1, c1b);
            Vector256<float> a2 = Vector256.Create(a[2]);
            c2a = Fma.MultiplyAdd(a2, b0, c2a); c2b = Fma.MultiplyAdd(a2, b1, c2b);
            Vector256<float> a3 = Vector256.Create(a[3]);
            c3a = Fma.MultiplyAdd(a3, b0, c3a); c3b = Fma.MultiplyAdd(a3, b1, c3b);
            Vector256<float> a4 = Vector256.Create(a[4]);
            c4a = Fma.MultiplyAdd(a4, b0, c4a); c4b = Fma.MultiplyAdd(a4, b1, c4b);
            Vector256<float> a5 = Vector256.Create(a[5]);
            c5a = Fma.MultiplyAdd(a5, b0, c5a); c5b = Fma.MultiplyAdd(a5, b1, c5b);
            a += 6;
            b += 16;
        }
        Accumulate256(c + 0 * ldc, c0a, c0b);
        Accumulate256(c + 1 * ldc, c1a, c1b);
        Accumulate256(c + 2 * ldc, c2a, c2b);
        Accumulate256(c + 3 * ldc, c3a, c3b);
        Accumulate256(c + 4 * ldc, c4a, c4b);
        Accumulate256(c + 5 * ldc, c5a, c5b);
    }

    /// <summary>Portable 4×8 tile for processors without AVX2/FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScalarKernel(int kc, float* a, float* b, float* c, int ldc)
    {
        float* acc = stackalloc float[32];
        new Span<float>(acc, 32).Clear();
        for (int k = 0; k < kc; k++)
        {
            for (int r = 0; r < 4; r++)
            {
                float ar = a[r];
                for (int j = 0; j < 8; j++) acc[r * 8 + j] += ar * b[j];
            }
            a += 4;
            b += 8;
        }
        for (int r = 0; r < 4; r++)
        {
            for (int j = 0; j < 8; j++) c[r * ldc + j] += acc[r * 8 + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate512(float* row, Vector512<float> x, Vector512<float> y)
    {
        Vector512.Store(Vector512.Load(row) + x, row);
        Vector512.Store(Vector512.Load(row + 16) + y, row + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate256(float* row, Vector256<float> x, Vector256<float> y)
    {
        Vector256.Store(Vector256.Load(row) + x, row);
        Vector256.Store(Vector256.Load(row + 8) + y, row + 8);
    }
}
