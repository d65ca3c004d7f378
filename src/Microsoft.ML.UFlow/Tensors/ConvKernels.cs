namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Convolution kernels on raw spans, as GEMMs with implicit im2col (B panels are packed straight from the
/// zero-padded image, so no K×P column buffer is built):
/// forward Y[Cout, P] = W[Cout, Cin·k²]·im2col(X);
/// input gradient (stride 1) = the same "same" convolution of dY with the kernel flipped and its channels swapped;
/// input gradient (stride 2) = col2im(Wᵀ·dY);
/// weight gradient dW[Cout, Cin·k²] = Σ_samples dY·im2col(X)ᵀ, bias gradient = row sums of dY.
/// </summary>
/// <remarks>
/// Work is split over (sample, pixel range) or over weight-gradient columns; every output element is reduced by one
/// task in an order fixed by the k-blocking alone, so results are bit-identical for any thread count.
/// </remarks>
internal static unsafe class ConvKernels
{
    // Workspace slots (one buffer per slot and worker).
    private const int SlotPackedA = 0, SlotB = 1, SlotA = 2, SlotSource = 3, SlotTap = 4, SlotPix = 5, SlotCol = 6, SlotPlane = 7;

    public static void Forward(ConvGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
        => Forward(GemmKernel.Best, Engine.Threads, g, input, weight, bias, output);

    public static void BackwardInput(ConvGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
        => BackwardInput(GemmKernel.Best, Engine.Threads, g, gradOutput, weight, gradInput);

    public static void BackwardWeight(ConvGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight, Span<float> gradBias, bool accumulate)
        => BackwardWeight(GemmKernel.Best, Engine.Threads, g, input, gradOutput, gradWeight, gradBias, accumulate);

    internal static void Forward(GemmKernel kernel, int threads, ConvGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        int k = g.Kernel, kk = g.InChannels * k * k, p = g.OutHeight * g.OutWidth;
        Workspace ws = Workspace.Rent();
        try
        {
            fixed (float* x = input, w = weight, b = bias, y = output)
            {
                var image = PaddedImage.Create(ws, x, g.Batch, g.InChannels, g.InHeight, g.InWidth, g.Pad, threads);
                int* tap = TapOffsets(ws, g.InChannels, k, image);
                int* pix = PixelOffsets(ws, g.OutHeight, g.OutWidth, g.Stride, image);
                float* packed = ws.Floats(SlotPackedA, 0, GemmDriver.PrepackedSize(kernel, g.OutChannels, kk));
                var a = GemmDriver.Prepack(kernel, new MatrixA(w, kk, g.OutChannels, kernel.MR, transposed: false), g.OutChannels, kk, packed, threads);
                ImplicitConvolution(kernel, threads, ws, a, image, tap, pix, g.Batch, g.OutChannels, kk, p, y, bias.IsEmpty ? null : b);
            }
        }
        finally
        {
            Workspace.Return(ws);
        }
    }

    internal static void BackwardInput(GemmKernel kernel, int threads, ConvGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        int k = g.Kernel;
        Workspace ws = Workspace.Rent();
        try
        {
            fixed (float* dy = gradOutput, w = weight, dx = gradInput)
            {
                if (g.Stride == 1)
                {
                    // dX = "same" convolution of dY with W'[ci, co, ky, kx] = W[co, ci, k−1−ky, k−1−kx].
                    var image = PaddedImage.Create(ws, dy, g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.Pad, threads);
                    int* tap = TapOffsets(ws, g.OutChannels, k, image);
                    int* pix = PixelOffsets(ws, g.InHeight, g.InWidth, 1, image);
                    int kk = g.OutChannels * k * k;
                    float* packed = ws.Floats(SlotPackedA, 0, GemmDriver.PrepackedSize(kernel, g.InChannels, kk));
                    var a = GemmDriver.Prepack(kernel, new FlippedWeightA(w, g.InChannels, k, kernel.MR), g.InChannels, kk, packed, threads);
                    ImplicitConvolution(kernel, threads, ws, a, image, tap, pix, g.Batch, g.InChannels, kk, g.InHeight * g.InWidth, dx, null);
                }
                else
                {
                    StridedBackwardInput(kernel, threads, ws, g, dy, w, dx);
                }
            }
        }
        finally
        {
            Workspace.Return(ws);
        }
    }

    internal static void BackwardWeight(GemmKernel kernel, int threads, ConvGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight, Span<float> gradBias, bool accumulate)
    {
        if (!accumulate)
        {
            gradWeight.Clear();
            gradBias.Clear();
        }
        int k = g.Kernel, kk = g.InChannels * k * k, p = g.OutHeight * g.OutWidth, cout = g.OutChannels;
        Workspace ws = Workspace.Rent();
        try
        {
            fixed (float* x = input, dy = gradOutput, dw = gradWeight, db = gradBias)
            {
                if (!gradBias.IsEmpty) BiasGradient(dy, db, g.Batch, cout, p, threads);
                var image = PaddedImage.Create(ws, x, g.Batch, g.InChannels, g.InHeight, g.InWidth, g.Pad, threads);
                int* tap = TapOffsets(ws, g.InChannels, k, image);
                int* pix = PixelOffsets(ws, g.OutHeight, g.OutWidth, g.Stride, image);
                // Split dW by columns (kernel taps); every column chunk reduces over all samples and pixels itself.
                int nr = kernel.NR;
                int chunks = Math.Max(1, Math.Min(threads, kk / nr));
                int width = GemmDriver.RoundUp((kk + chunks - 1) / chunks, nr);
                chunks = (kk + width - 1) / width;
                nint pdy = (nint)dy, pdw = (nint)dw, ptap = (nint)tap, ppix = (nint)pix;
                EngineParallel.Run(chunks, threads, (t, worker) =>
                {
                    int j0 = t * width, j1 = Math.Min(kk, j0 + width);
                    float* aScratch = ws.Floats(SlotA, worker, GemmDriver.PackedASize(kernel, cout));
                    float* bScratch = ws.Floats(SlotB, worker, GemmDriver.PackedBSize());
                    for (int n = 0; n < g.Batch; n++)
                    {
                        var a = new MatrixA((float*)pdy + (long)n * cout * p, p, cout, kernel.MR, transposed: false);
                        var b = new ImageTransposedB(image.Sample(n), (int*)ptap, (int*)ppix, nr);
                        GemmDriver.Run(kernel, ref a, ref b, cout, j0, j1, p, (float*)pdw, kk, aScratch, bScratch);
                    }
                });
            }
        }
        finally
        {
            Workspace.Return(ws);
        }
    }

    /// <summary>C[n] = bias (or 0) then C[n][M, P] += A·im2col(image n), split over (sample, pixel range).</summary>
    private static void ImplicitConvolution(GemmKernel kernel, int threads, Workspace ws, PrepackedA a, PaddedImage image, int* tap, int* pix,
        int batch, int m, int kk, int p, float* output, float* bias)
    {
        int nr = kernel.NR;
        // Enough pieces to keep every thread busy even for one sample; about 512 pixels each otherwise.
        int perSample = Math.Max((2 * threads + batch - 1) / batch, (p + 255) / 512);
        perSample = Math.Max(1, Math.Min(perSample, (p + nr - 1) / nr));
        int width = GemmDriver.RoundUp((p + perSample - 1) / perSample, nr);
        perSample = (p + width - 1) / width;
        nint py = (nint)output, pbias = (nint)bias, ptap = (nint)tap, ppix = (nint)pix;
        EngineParallel.Run(batch * perSample, threads, (t, worker) =>
        {
            int n = t / perSample, j0 = t % perSample * width, j1 = Math.Min(p, j0 + width);
            float* y = (float*)py + (long)n * m * p;
            for (int i = 0; i < m; i++)
            {
                new Span<float>(y + (long)i * p + j0, j1 - j0).Fill(pbias == 0 ? 0f : ((float*)pbias)[i]);
            }
            var b = new ImageB(image.Sample(n), (int*)ptap, (int*)ppix, nr);
            GemmDriver.Run(kernel, a, ref b, m, j0, j1, kk, y, p, ws.Floats(SlotB, worker, GemmDriver.PackedBSize()));
        });
    }

    /// <summary>Stride-2 input gradient: per sample, columns = Wᵀ·dY (a GEMM), then scattered back (col2im).</summary>
    private static void StridedBackwardInput(GemmKernel kernel, int threads, Workspace ws, ConvGeometry g, float* dy, float* w, float* dx)
    {
        int k = g.Kernel, kk = g.InChannels * k * k, p = g.OutHeight * g.OutWidth, cout = g.OutChannels, cin = g.InChannels, pad = g.Pad;
        int hp = g.InHeight + 2 * pad, wp = g.InWidth + 2 * pad, plane = hp * wp;
        var geometry = new PaddedImage(null, hp, wp, cin * plane);
        int* tap = TapOffsets(ws, cin, k, geometry);
        int* pix = PixelOffsets(ws, g.OutHeight, g.OutWidth, g.Stride, geometry);
        float* packed = ws.Floats(SlotPackedA, 0, GemmDriver.PrepackedSize(kernel, kk, cout));
        var a = GemmDriver.Prepack(kernel, new MatrixA(w, kk, kk, kernel.MR, transposed: true), kk, cout, packed, threads);
        nint pdy = (nint)dy, pdx = (nint)dx, ptap = (nint)tap, ppix = (nint)pix;
        EngineParallel.Run(g.Batch, threads, (n, worker) =>
        {
            float* col = ws.Floats(SlotCol, worker, (long)kk * p);
            new Span<float>(col, kk * p).Clear();
            var b = new MatrixB((float*)pdy + (long)n * cout * p, p, kernel.NR, transposed: false);
            GemmDriver.Run(kernel, a, ref b, kk, 0, p, cout, col, p, ws.Floats(SlotB, worker, GemmDriver.PackedBSize()));
            float* padded = ws.Floats(SlotPlane, worker, (long)cin * plane);
            new Span<float>(padded, cin * plane).Clear();
            int* t = (int*)ptap, px = (int*)ppix;
            for (int r = 0; r < kk; r++)
            {
                float* src = col + (long)r * p, dst = padded + t[r];
                for (int j = 0; j < p; j++) dst[px[j]] += src[j];
            }
            float* d = (float*)pdx + (long)n * cin * g.InHeight * g.InWidth;
            for (int c = 0; c < cin; c++)
            {
                for (int yy = 0; yy < g.InHeight; yy++)
                {
                    new ReadOnlySpan<float>(padded + c * plane + (yy + pad) * wp + pad, g.InWidth)
                        .CopyTo(new Span<float>(d + ((long)c * g.InHeight + yy) * g.InWidth, g.InWidth));
                }
            }
        });
    }

    /// <summary>db[co] += Σ_n Σ_p dY[n, co, p], summed per plane then over samples in order.</summary>
    private static void BiasGradient(float* dy, float* db, int batch, int cout, int p, int threads)
    {
        nint pdy = (nint)dy, pdb = (nint)db;
        const int PerTask = 64;
        EngineParallel.Run((cout + PerTask - 1) / PerTask, threads, (t, _) =>
        {
            for (int co = t * PerTask; co < Math.Min(cout, (t + 1) * PerTask); co++)
            {
                float sum = 0f;
                for (int n = 0; n < batch; n++) sum += TensorPrimitives.Sum(new ReadOnlySpan<float>((float*)pdy + ((long)n * cout + co) * p, p));
                ((float*)pdb)[co] += sum;
            }
        });
    }

    /// <summary>tap[(c·k + ky)·k + kx] = offset of kernel tap (c, ky, kx) in a padded sample.</summary>
    private static int* TapOffsets(Workspace ws, int channels, int k, PaddedImage image)
    {
        int* tap = ws.Ints(SlotTap, 0, (long)channels * k * k);
        int plane = image.Height * image.Width, i = 0;
        for (int c = 0; c < channels; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                for (int kx = 0; kx < k; kx++) tap[i++] = c * plane + ky * image.Width + kx;
            }
        }
        return tap;
    }

    /// <summary>pix[oy·OW + ox] = offset of the top-left tap of output pixel (oy, ox) in a padded plane.</summary>
    private static int* PixelOffsets(Workspace ws, int outHeight, int outWidth, int stride, PaddedImage image)
    {
        int* pix = ws.Ints(SlotPix, 0, (long)outHeight * outWidth);
        for (int oy = 0; oy < outHeight; oy++)
        {
            for (int ox = 0; ox < outWidth; ox++) pix[oy * outWidth + ox] = oy * stride * image.Width + ox * stride;
        }
        return pix;
    }

    /// <summary>A batch of images with a zero border of the padding width (the input itself when there is none).</summary>
    private readonly struct PaddedImage(float* data, int height, int width, int sampleSize)
    {
        public int Height => height;

        public int Width => width;

        public float* Sample(int n) => data + (long)n * sampleSize;

        public static PaddedImage Create(Workspace ws, float* x, int batch, int channels, int h, int w, int pad, int threads)
        {
            if (pad == 0) return new PaddedImage(x, h, w, channels * h * w);
            int hp = h + 2 * pad, wp = w + 2 * pad, plane = hp * wp;
            float* dst = ws.Floats(SlotSource, 0, (long)batch * channels * plane);
            nint px = (nint)x, pdst = (nint)dst;
            const int PlanesPerTask = 32;
            int planes = batch * channels;
            EngineParallel.Run((planes + PlanesPerTask - 1) / PlanesPerTask, threads, (t, _) =>
            {
                for (int i = t * PlanesPerTask; i < Math.Min(planes, (t + 1) * PlanesPerTask); i++)
                {
                    float* d = (float*)pdst + (long)i * plane, s = (float*)px + (long)i * h * w;
                    new Span<float>(d, pad * wp + pad).Clear();
                    for (int yy = 0; yy < h; yy++)
                    {
                        float* row = d + (yy + pad) * wp + pad;
                        new ReadOnlySpan<float>(s + yy * w, w).CopyTo(new Span<float>(row, w));
                        // Right border of this row and left border of the next one are adjacent.
                        new Span<float>(row + w, 2 * pad).Clear();
                    }
                    new Span<float>(d + (h + pad) * wp + pad, pad * wp - pad).Clear();
                }
            });
            return new PaddedImage(dst, hp, wp, channels * plane);
        }
    }
}
