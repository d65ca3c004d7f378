using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// Upsamples the per-scale NFA maps to the map grid and folds them into the running minimum over scales. The bilinear mode is
/// separable (source rows are first interpolated along x, then each output row is a SIMD blend of two of them) and
/// performs exactly the arithmetic of <see cref="Tensors.BilinearResize.Forward"/>, hy·(hx·a + wx·b) + ly·(hx·c + wx·d),
/// so the result is bit-identical to it; nearest follows PyTorch's <c>mode='nearest'</c>. Owns its scratch buffers.
/// </summary>
internal sealed class ScaleMapUpsampler
{
    private float[] _rows = [];   // source rows interpolated along x: inHeight × outWidth
    private float[] _line = [];   // one output row
    private int[] _x0 = [], _x1 = [];
    private float[] _lx = [];

    /// <summary>
    /// Upsamples <paramref name="source"/> (inHeight×inWidth) to outHeight×outWidth and writes it into
    /// <paramref name="destination"/> (<paramref name="accumulateMinimum"/> false) or replaces each destination value by
    /// the minimum of it and the upsampled value (true).
    /// </summary>
    public void Upsample(ReadOnlySpan<float> source, int inHeight, int inWidth, Span<float> destination, int outHeight, int outWidth, NfaUpsampling mode, bool accumulateMinimum)
    {
        if (source.Length != inHeight * inWidth || destination.Length != outHeight * outWidth)
        {
            throw new ArgumentException($"Upsampling {inHeight}x{inWidth} -> {outHeight}x{outWidth} got spans of {source.Length} and {destination.Length} values.");
        }
        if (_line.Length < outWidth)
        {
            _line = new float[outWidth];
            _x0 = new int[outWidth];
            _x1 = new int[outWidth];
            _lx = new float[outWidth];
        }
        Span<float> line = _line.AsSpan(0, outWidth);
        if (mode == NfaUpsampling.Nearest)
        {
            float nearestX = (float)inWidth / outWidth, nearestY = (float)inHeight / outHeight;
            for (int ox = 0; ox < outWidth; ox++)
            {
                _x0[ox] = NearestIndex(nearestX, ox, inWidth);
            }
            for (int oy = 0; oy < outHeight; oy++)
            {
                ReadOnlySpan<float> row = source.Slice(NearestIndex(nearestY, oy, inHeight) * inWidth, inWidth);
                for (int ox = 0; ox < outWidth; ox++)
                {
                    line[ox] = row[_x0[ox]];
                }
                Store(line, destination.Slice(oy * outWidth, outWidth), accumulateMinimum);
            }
            return;
        }

        if (_rows.Length < inHeight * outWidth)
        {
            _rows = new float[inHeight * outWidth];
        }
        float scale = (float)inWidth / outWidth;
        for (int ox = 0; ox < outWidth; ox++)
        {
            BilinearResize.SourceIndex(scale, ox, inWidth, out _x0[ox], out _x1[ox], out _lx[ox]);
        }
        for (int iy = 0; iy < inHeight; iy++)
        {
            ReadOnlySpan<float> row = source.Slice(iy * inWidth, inWidth);
            Span<float> target = _rows.AsSpan(iy * outWidth, outWidth);
            for (int ox = 0; ox < outWidth; ox++)
            {
                float wx = _lx[ox], hx = 1f - wx;
                target[ox] = hx * row[_x0[ox]] + wx * row[_x1[ox]];
            }
        }
        float scaleY = (float)inHeight / outHeight;
        for (int oy = 0; oy < outHeight; oy++)
        {
            BilinearResize.SourceIndex(scaleY, oy, inHeight, out int y0, out int y1, out float ly);
            float hy = 1f - ly;
            ReadOnlySpan<float> top = _rows.AsSpan(y0 * outWidth, outWidth), bottom = _rows.AsSpan(y1 * outWidth, outWidth);
            TensorPrimitives.Multiply(top, hy, line);
            TensorPrimitives.MultiplyAdd(bottom, ly, line, line); // ly·bottom + hy·top, rounded like the scalar form
            Store(line, destination.Slice(oy * outWidth, outWidth), accumulateMinimum);
        }
    }

    private static void Store(ReadOnlySpan<float> line, Span<float> target, bool accumulateMinimum)
    {
        if (accumulateMinimum)
        {
            TensorPrimitives.Min(target, line, target);
        }
        else
        {
            line.CopyTo(target);
        }
    }

    // PyTorch nearest_idx: floor(dst · in/out) with the scale in float, clamped to the last index.
    private static int NearestIndex(float scale, int dst, int inSize) => Math.Min((int)MathF.Floor(dst * scale), inSize - 1);
}
