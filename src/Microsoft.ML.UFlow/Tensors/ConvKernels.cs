namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Convolution kernels on raw spans. This first version is a direct loop nest, parallel over (sample, channel);
/// it is the correctness baseline that the GEMM-based kernels replace.
/// </summary>
internal static class ConvKernels
{
    public static void Forward(ConvGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        float[] x = input.ToArray(), w = weight.ToArray(), b = bias.ToArray();
        float[] y = new float[output.Length];
        int k = g.Kernel, pad = g.Pad;
        Parallel.For(0, g.Batch * g.OutChannels, nc =>
        {
            int n = nc / g.OutChannels, co = nc % g.OutChannels;
            for (int oy = 0; oy < g.OutHeight; oy++)
            {
                for (int ox = 0; ox < g.OutWidth; ox++)
                {
                    float sum = b.Length > 0 ? b[co] : 0f;
                    for (int ci = 0; ci < g.InChannels; ci++)
                    {
                        for (int ky = 0; ky < k; ky++)
                        {
                            int iy = oy * g.Stride + ky - pad;
                            if ((uint)iy >= (uint)g.InHeight) continue;
                            for (int kx = 0; kx < k; kx++)
                            {
                                int ix = ox * g.Stride + kx - pad;
                                if ((uint)ix >= (uint)g.InWidth) continue;
                                sum += x[((n * g.InChannels + ci) * g.InHeight + iy) * g.InWidth + ix] * w[((co * g.InChannels + ci) * k + ky) * k + kx];
                            }
                        }
                    }
                    y[((n * g.OutChannels + co) * g.OutHeight + oy) * g.OutWidth + ox] = sum;
                }
            }
        });
        y.CopyTo(output);
    }

    public static void BackwardInput(ConvGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        float[] dy = gradOutput.ToArray(), w = weight.ToArray();
        float[] dx = new float[gradInput.Length];
        int k = g.Kernel, pad = g.Pad;
        Parallel.For(0, g.Batch * g.InChannels, nc =>
        {
            int n = nc / g.InChannels, ci = nc % g.InChannels;
            for (int co = 0; co < g.OutChannels; co++)
            {
                for (int oy = 0; oy < g.OutHeight; oy++)
                {
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        float d = dy[((n * g.OutChannels + co) * g.OutHeight + oy) * g.OutWidth + ox];
                        for (int ky = 0; ky < k; ky++)
                        {
                            int iy = oy * g.Stride + ky - pad;
                            if ((uint)iy >= (uint)g.InHeight) continue;
                            for (int kx = 0; kx < k; kx++)
                            {
                                int ix = ox * g.Stride + kx - pad;
                                if ((uint)ix >= (uint)g.InWidth) continue;
                                dx[((n * g.InChannels + ci) * g.InHeight + iy) * g.InWidth + ix] += d * w[((co * g.InChannels + ci) * k + ky) * k + kx];
                            }
                        }
                    }
                }
            }
        });
        dx.CopyTo(gradInput);
    }

    public static void BackwardWeight(ConvGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight, Span<float> gradBias, bool accumulate)
    {
        float[] x = input.ToArray(), dy = gradOutput.ToArray();
        float[] dw = new float[gradWeight.Length];
        float[] db = new float[gradBias.Length];
        int k = g.Kernel, pad = g.Pad;
        Parallel.For(0, g.OutChannels, co =>
        {
            for (int n = 0; n < g.Batch; n++)
            {
                for (int oy = 0; oy < g.OutHeight; oy++)
                {
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        float d = dy[((n * g.OutChannels + co) * g.OutHeight + oy) * g.OutWidth + ox];
                        if (db.Length > 0) db[co] += d;
                        for (int ci = 0; ci < g.InChannels; ci++)
                        {
                            for (int ky = 0; ky < k; ky++)
                            {
                                int iy = oy * g.Stride + ky - pad;
                                if ((uint)iy >= (uint)g.InHeight) continue;
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int ix = ox * g.Stride + kx - pad;
                                    if ((uint)ix >= (uint)g.InWidth) continue;
                                    dw[((co * g.InChannels + ci) * k + ky) * k + kx] += d * x[((n * g.InChannels + ci) * g.InHeight + iy) * g.InWidth + ix];
                                }
                            }
                        }
                    }
                }
            }
        });
        if (accumulate)
        {
            TensorPrimitives.Add(gradWeight, dw, gradWeight);
            if (db.Length > 0) TensorPrimitives.Add(gradBias, db, gradBias);
        }
        else
        {
            dw.CopyTo(gradWeight);
            db.CopyTo(gradBias);
        }
    }
}
