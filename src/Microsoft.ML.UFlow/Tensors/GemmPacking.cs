using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.UFlow.Tensors;

/// <summary>Packs the A operand of C += A·B for k in [k0, k0+kc): panels of MR rows, MR values per k, rows past M zero.</summary>
internal unsafe interface IPackA
{
    /// <summary>Packs all M rows for k in [k0, k0+kc) into <paramref name="dst"/> (roundUp(M, MR)·kc floats).</summary>
    void Pack(int k0, int kc, float* dst);
}

/// <summary>Packs the B operand: panels of NR columns, NR values per k, columns past the range zero.</summary>
internal unsafe interface IPackB
{
    /// <summary>Packs columns [j0, j0+nc) for k in [k0, k0+kc) into <paramref name="dst"/> (roundUp(nc, NR)·kc floats).</summary>
    void Pack(int k0, int kc, int j0, int nc, float* dst);
}

/// <summary>A(i, k) = src[i·ld + k] (row-major), or src[k·ld + i] when <see cref="Transposed"/>.</summary>
internal readonly unsafe struct MatrixA(float* src, int ld, int m, int mr, bool transposed) : IPackA
{
    public bool Transposed => transposed;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, float* dst)
    {
        for (int i0 = 0; i0 < m; i0 += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, m - i0);
            if (rows < mr) new Span<float>(dst, kc * mr).Clear();
            if (!transposed)
            {
                for (int r = 0; r < rows; r++)
                {
                    float* s = src + (long)(i0 + r) * ld + k0;
                    for (int k = 0; k < kc; k++) dst[k * mr + r] = s[k];
                }
            }
            else
            {
                for (int k = 0; k < kc; k++)
                {
                    float* s = src + (long)(k0 + k) * ld + i0;
                    for (int r = 0; r < rows; r++) dst[k * mr + r] = s[r];
                }
            }
        }
    }
}

/// <summary>
/// The A operand of the input gradient of a stride-1 convolution seen as a forward convolution of the output
/// gradient: A(ci, (co, ky, kx)) = W[co, ci, k−1−ky, k−1−kx] (weights transposed over channels, kernel flipped).
/// </summary>
internal readonly unsafe struct FlippedWeightA(float* w, int cin, int k, int mr) : IPackA
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, float* dst)
    {
        int kk2 = k * k;
        for (int i0 = 0; i0 < cin; i0 += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, cin - i0);
            if (rows < mr) new Span<float>(dst, kc * mr).Clear();
            for (int kIdx = 0; kIdx < kc; kIdx++)
            {
                int col = k0 + kIdx, co = col / kk2, tap = col - co * kk2;
                int flipped = kk2 - 1 - tap;
                float* s = w + ((long)co * cin + i0) * kk2 + flipped;
                for (int r = 0; r < rows; r++) dst[kIdx * mr + r] = s[r * kk2];
            }
        }
    }
}

/// <summary>A operand packed once for all k (same k-blocking as the driver); each block is then a pointer offset.</summary>
internal readonly unsafe struct PrepackedA(float* packed, int mPadded)
{
    public float* Block(int k0) => packed + (long)k0 * mPadded;
}

/// <summary>B(k, j) = src[k·ld + j] (row-major), or src[j·ld + k] when transposed.</summary>
internal readonly unsafe struct MatrixB(float* src, int ld, int nr, bool transposed) : IPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, int j0, int nc, float* dst)
    {
        for (int q = 0; q < nc; q += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - q);
            if (cols < nr) new Span<float>(dst, kc * nr).Clear();
            if (!transposed)
            {
                for (int k = 0; k < kc; k++)
                {
                    new ReadOnlySpan<float>(src + (long)(k0 + k) * ld + j0 + q, cols).CopyTo(new Span<float>(dst + k * nr, cols));
                }
            }
            else
            {
                for (int c = 0; c < cols; c++)
                {
                    float* s = src + (long)(j0 + q + c) * ld + k0;
                    for (int k = 0; k < kc; k++) dst[k * nr + c] = s[k];
                }
            }
        }
    }
}

/// <summary>
/// Implicit im2col of a zero-padded image: B(kk, p) = src[tap[kk] + pix[p]], kk = (c, ky, kx) a kernel tap and p an
/// output pixel. Rows of 8 pixels that are contiguous in the image are copied; others are gathered.
/// </summary>
internal readonly unsafe struct ImageB(float* src, int* tap, int* pix, int nr) : IPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, int j0, int nc, float* dst)
    {
        for (int q = 0; q < nc; q += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - q);
            int* p = pix + j0 + q;
            if (cols == nr && Avx2.IsSupported)
            {
                for (int v = 0; v < nr; v += 8)
                {
                    if (p[v + 7] - p[v] == 7)
                    {
                        float* s = src + p[v];
                        for (int k = 0; k < kc; k++) Vector256.Store(Vector256.Load(s + tap[k0 + k]), dst + k * nr + v);
                    }
                    else
                    {
                        Vector256<int> index = Vector256.Load(p + v);
                        for (int k = 0; k < kc; k++) Vector256.Store(Avx2.GatherVector256(src + tap[k0 + k], index, 4), dst + k * nr + v);
                    }
                }
            }
            else
            {
                if (cols < nr) new Span<float>(dst, kc * nr).Clear();
                for (int k = 0; k < kc; k++)
                {
                    float* s = src + tap[k0 + k];
                    float* d = dst + k * nr;
                    for (int c = 0; c < cols; c++) d[c] = s[p[c]];
                }
            }
        }
    }
}

/// <summary>
/// Transposed implicit im2col for the weight gradient: B(p, kk) = src[tap[kk] + pix[p]] (k runs over pixels, columns
/// over kernel taps), gathered 8 taps at a time.
/// </summary>
internal readonly unsafe struct ImageTransposedB(float* src, int* tap, int* pix, int nr) : IPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int k0, int kc, int j0, int nc, float* dst)
    {
        for (int q = 0; q < nc; q += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - q);
            int* t = tap + j0 + q;
            if (cols == nr && Avx2.IsSupported)
            {
                for (int v = 0; v < nr; v += 8)
                {
                    Vector256<int> index = Vector256.Load(t + v);
                    for (int k = 0; k < kc; k++) Vector256.Store(Avx2.GatherVector256(src + pix[k0 + k], index, 4), dst + k * nr + v);
                }
            }
            else
            {
                if (cols < nr) new Span<float>(dst, kc * nr).Clear();
                for (int k = 0; k < kc; k++)
                {
                    float* s = src + pix[k0 + k];
                    float* d = dst + k * nr;
                    for (int c = 0; c < cols; c++) d[c] = s[t[c]];
                }
            }
        }
    }
}
