namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Bilinear resizing of one H×W float plane with PyTorch's <c>F.interpolate(mode='bilinear', align_corners=False)</c>
/// semantics and no antialiasing: source = max((dst + 0.5)·in/out − 0.5, 0), right/bottom neighbour clamped to the
/// border. Works for up- and down-sampling.
/// </summary>
public static class BilinearResize
{
    /// <summary>Resizes <paramref name="source"/> (inHeight×inWidth) into <paramref name="destination"/> (outHeight×outWidth).</summary>
    public static void Forward(ReadOnlySpan<float> source, int inHeight, int inWidth, Span<float> destination, int outHeight, int outWidth)
    {
        CheckSizes(source.Length, inHeight, inWidth, destination.Length, outHeight, outWidth);
        Span<int> x0 = outWidth <= 1024 ? stackalloc int[outWidth] : new int[outWidth];
        Span<int> x1 = outWidth <= 1024 ? stackalloc int[outWidth] : new int[outWidth];
        Span<float> lx = outWidth <= 1024 ? stackalloc float[outWidth] : new float[outWidth];
        Coordinates(inWidth, outWidth, x0, x1, lx);
        float scaleY = (float)inHeight / outHeight;
        for (int oy = 0; oy < outHeight; oy++)
        {
            SourceIndex(scaleY, oy, inHeight, out int y0, out int y1, out float ly);
            ForwardRow(source.Slice(y0 * inWidth, inWidth), source.Slice(y1 * inWidth, inWidth), ly, x0, x1, lx, destination.Slice(oy * outWidth, outWidth));
        }
    }

    // One output row from its two source rows (vertical weight ly, per-column neighbours x0/x1 and weights lx).
    private static void ForwardRow(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, float ly, ReadOnlySpan<int> x0, ReadOnlySpan<int> x1, ReadOnlySpan<float> lx, Span<float> row)
    {
        float hy = 1f - ly;
        for (int ox = 0; ox < row.Length; ox++)
        {
            float wx = lx[ox], hx = 1f - wx;
            row[ox] = hy * (hx * top[x0[ox]] + wx * top[x1[ox]]) + ly * (hx * bottom[x0[ox]] + wx * bottom[x1[ox]]);
        }
    }

    private static void Coordinates(int inSize, int outSize, Span<int> i0, Span<int> i1, Span<float> lambda)
    {
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            SourceIndex(scale, o, inSize, out i0[o], out i1[o], out lambda[o]);
        }
    }

    // PyTorch's area_pixel_compute_source_index (align_corners = False) followed by the neighbour rule of upsample_bilinear2d.
    // Shared with Scoring.ScaleMapUpsampler, which must stay bit-identical to this resize.
    internal static void SourceIndex(float scale, int dst, int inSize, out int i0, out int i1, out float lambda)
    {
        float src = MathF.Max(scale * (dst + 0.5f) - 0.5f, 0f);
        i0 = Math.Min((int)src, inSize - 1);
        i1 = i0 < inSize - 1 ? i0 + 1 : i0;
        lambda = src - i0;
    }

    private static void CheckSizes(int sourceLength, int inHeight, int inWidth, int destinationLength, int outHeight, int outWidth)
    {
        if (inHeight <= 0 || inWidth <= 0 || outHeight <= 0 || outWidth <= 0)
        {
            throw new ArgumentException($"Sizes must be positive: {inHeight}x{inWidth} -> {outHeight}x{outWidth}.");
        }
        if (sourceLength != inHeight * inWidth)
        {
            throw new ArgumentException($"Source has {sourceLength} values but {inHeight}x{inWidth} was given.");
        }
        if (destinationLength != outHeight * outWidth)
        {
            throw new ArgumentException($"Destination has {destinationLength} values but {outHeight}x{outWidth} was given.");
        }
    }
}
