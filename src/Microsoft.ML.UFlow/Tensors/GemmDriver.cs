using System.Runtime.CompilerServices;

namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Cache-blocked GEMM loop around a <see cref="GemmKernel"/>: C[0..M, j0..j1) += A·B over k in [kStart, kEnd).
/// </summary>
/// <remarks>
/// Blocking: k in equal blocks of at most <see cref="KC"/> (B micro-panel kc×NR stays in L1), columns in blocks of
/// <see cref="NC"/> (packed B block in L2), rows in blocks of <see cref="MC"/> (A block in L2). The k-blocks depend
/// on the reduction length alone, so every C element is summed in the same order whatever the
/// column range or thread that computes it.
/// </remarks>
internal static unsafe class GemmDriver
{
    public const int KC = 256;
    public const int MC = 240;
    public const int NC = 384;

    /// <summary>Floats needed for a packed A block of M rows.</summary>
    public static long PackedASize(in GemmKernel kernel, int m) => (long)RoundUp(m, kernel.MR) * KC;

    /// <summary>Floats needed for a packed B block.</summary>
    public static long PackedBSize() => (long)NC * KC;

    /// <summary>Floats needed to prepack all of A (M rows, K columns).</summary>
    public static long PrepackedSize(in GemmKernel kernel, int m, int k) => (long)RoundUp(m, kernel.MR) * k;

    public static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>
    /// The k-block size for a reduction of length k: blocks of at most <see cref="KC"/>, all of equal size but the
    /// last, so that no tiny tail block pays a full C update. Depends on k alone (never on threads).
    /// </summary>
    public static int BlockSize(int k)
    {
        int blocks = Math.Max(1, (k + KC - 1) / KC);
        return (k + blocks - 1) / blocks;
    }

    /// <summary>Packs all of A once, block by block, in the layout <see cref="PrepackedA"/> reads (parallel over k-blocks).</summary>
    public static PrepackedA Prepack<TA>(in GemmKernel kernel, TA a, int m, int k, float* dst, int threads) where TA : struct, IPackA
    {
        int mPadded = RoundUp(m, kernel.MR);
        int size = BlockSize(k), blocks = (k + size - 1) / size;
        EngineParallel.Run(blocks, threads, (b, _) =>
        {
            int k0 = b * size;
            a.Pack(k0, Math.Min(size, k - k0), dst + (long)k0 * mPadded);
        });
        return new PrepackedA(dst, mPadded);
    }

    /// <summary>C[0..m, j0..j1) += A·B for k in [0, k), with A prepacked.</summary>
    public static void Run<TB>(in GemmKernel kernel, PrepackedA a, ref TB b, int m, int j0, int j1, int k, float* c, int ldc, float* bScratch)
        where TB : struct, IPackB
    {
        int size = BlockSize(k);
        for (int k0 = 0; k0 < k; k0 += size)
        {
            int kc = Math.Min(size, k - k0);
            Block(kernel, a.Block(k0), ref b, m, j0, j1, k0, kc, c, ldc, bScratch);
        }
    }

    /// <summary>C[0..m, j0..j1) += A·B for k in [0, k), packing A block by block into <paramref name="aScratch"/>.</summary>
    public static void Run<TA, TB>(in GemmKernel kernel, ref TA a, ref TB b, int m, int j0, int j1, int k, float* c, int ldc, float* aScratch, float* bScratch)
        where TA : struct, IPackA where TB : struct, IPackB
    {
        int size = BlockSize(k);
        for (int k0 = 0; k0 < k; k0 += size)
        {
            int kc = Math.Min(size, k - k0);
            a.Pack(k0, kc, aScratch);
            Block(kernel, aScratch, ref b, m, j0, j1, k0, kc, c, ldc, bScratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TB>(in GemmKernel kernel, float* aPacked, ref TB b, int m, int j0, int j1, int k0, int kc, float* c, int ldc, float* bScratch)
        where TB : struct, IPackB
    {
        int mr = kernel.MR, nr = kernel.NR;
        var function = kernel.Function;
        for (int jb = j0; jb < j1; jb += NC)
        {
            int nc = Math.Min(NC, j1 - jb);
            b.Pack(k0, kc, jb, nc, bScratch);
            for (int ic = 0; ic < m; ic += MC)
            {
                int mc = Math.Min(MC, m - ic);
                for (int jr = 0; jr < nc; jr += nr)
                {
                    float* bp = bScratch + (long)(jr / nr) * kc * nr;
                    int cols = Math.Min(nr, nc - jr);
                    for (int ir = ic; ir < ic + mc; ir += mr)
                    {
                        float* ap = aPacked + (long)(ir / mr) * kc * mr;
                        float* ct = c + (long)ir * ldc + jb + jr;
                        int rows = Math.Min(mr, m - ir);
                        if (rows == mr && cols == nr)
                        {
                            function(kc, ap, bp, ct, ldc);
                        }
                        else
                        {
                            Edge(function, mr, nr, rows, cols, kc, ap, bp, ct, ldc);
                        }
                    }
                }
            }
        }
    }

    /// <summary>A partial tile: run the full kernel on a zero-padded copy of the valid part of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Edge(delegate*<int, float*, float*, float*, int, void> function, int mr, int nr, int rows, int cols, int kc, float* ap, float* bp, float* c, int ldc)
    {
        float* tile = stackalloc float[mr * nr + 16];
        tile = (float*)(((nint)tile + 63) & ~(nint)63);
        new Span<float>(tile, mr * nr).Clear();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++) tile[r * nr + j] = c[(long)r * ldc + j];
        }
        function(kc, ap, bp, tile, nr);
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++) c[(long)r * ldc + j] = tile[r * nr + j];
        }
    }
}
