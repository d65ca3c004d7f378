namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// Bicubic resampling of float planes as PyTorch's <c>F.interpolate(mode="bicubic", align_corners=True)</c> without
/// antialiasing: cubic convolution with A = −0.75, source coordinate = dst·(in−1)/(out−1), the four taps clamped to the
/// border, applied to 4 rows of 4 taps. Used for MS-CaiT's 448 → 224 input (METHOD.md A.2.1, step 1), which resamples
/// the already normalised image.
/// </summary>
public static class BicubicResize
{
    /// <summary>The cubic convolution coefficient A used by PyTorch.</summary>
    public const float CubicCoefficient = -0.75f;

    /// <summary>Resizes one row-major plane (<paramref name="sourceHeight"/> × <paramref name="sourceWidth"/>) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">A size is not positive or a span is too short.</exception>
    public static void AlignCorners(ReadOnlySpan<float> source, int sourceHeight, int sourceWidth,
        Span<float> destination, int destinationHeight, int destinationWidth)
    {
        CheckPlane(source.Length, sourceHeight, sourceWidth, nameof(source));
        CheckPlane(destination.Length, destinationHeight, destinationWidth, nameof(destination));
        Taps rows = new(sourceHeight, destinationHeight);
        Taps columns = new(sourceWidth, destinationWidth);
        ResizePlane(source, sourceWidth, destination, destinationWidth, rows, columns);
    }

    /// <summary>
    /// Resizes every plane of the rank-4 <paramref name="source"/> into <paramref name="destination"/>, which is reshaped to
    /// [N, C, <paramref name="destinationHeight"/>, <paramref name="destinationWidth"/>] (its buffer is reused when large enough).
    /// </summary>
    public static void AlignCorners(Tensor source, Tensor destination, int destinationHeight, int destinationWidth)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        source.CheckRank4(nameof(source));
        if (ReferenceEquals(source, destination)) throw new ArgumentException("Source and destination must differ.", nameof(destination));
        CheckPlane(destinationHeight * destinationWidth, destinationHeight, destinationWidth, nameof(destination));
        int n = source.N, c = source.C, h = source.H, w = source.W;
        CheckPlane(h * w, h, w, nameof(source));
        destination.EnsureShape(n, c, destinationHeight, destinationWidth);
        Taps rows = new(h, destinationHeight);
        Taps columns = new(w, destinationWidth);
        int planes = n * c;
        Parallel.For(0, planes, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(planes, Environment.ProcessorCount) }, p =>
        {
            ResizePlane(source.Span.Slice(p * h * w, h * w), w, destination.Span.Slice(p * destinationHeight * destinationWidth, destinationHeight * destinationWidth),
                destinationWidth, rows, columns);
        });
    }

    private static void ResizePlane(ReadOnlySpan<float> source, int sourceWidth, Span<float> destination, int destinationWidth, Taps rows, Taps columns)
    {
        int[] ci = columns.Indices;
        float[] cw = columns.Weights;
        for (int y = 0; y < rows.Count; y++)
        {
            ReadOnlySpan<float> r0 = source.Slice(rows.Indices[4 * y] * sourceWidth, sourceWidth);
            ReadOnlySpan<float> r1 = source.Slice(rows.Indices[4 * y + 1] * sourceWidth, sourceWidth);
            ReadOnlySpan<float> r2 = source.Slice(rows.Indices[4 * y + 2] * sourceWidth, sourceWidth);
            ReadOnlySpan<float> r3 = source.Slice(rows.Indices[4 * y + 3] * sourceWidth, sourceWidth);
            float wy0 = rows.Weights[4 * y], wy1 = rows.Weights[4 * y + 1], wy2 = rows.Weights[4 * y + 2], wy3 = rows.Weights[4 * y + 3];
            Span<float> output = destination.Slice(y * destinationWidth, destinationWidth);
            for (int x = 0; x < output.Length; x++)
            {
                int k = 4 * x;
                int x0 = ci[k], x1 = ci[k + 1], x2 = ci[k + 2], x3 = ci[k + 3];
                float w0 = cw[k], w1 = cw[k + 1], w2 = cw[k + 2], w3 = cw[k + 3];
                // Same evaluation order as PyTorch: interpolate each row along x, then combine the rows.
                float t0 = r0[x0] * w0 + r0[x1] * w1 + r0[x2] * w2 + r0[x3] * w3;
                float t1 = r1[x0] * w0 + r1[x1] * w1 + r1[x2] * w2 + r1[x3] * w3;
                float t2 = r2[x0] * w0 + r2[x1] * w1 + r2[x2] * w2 + r2[x3] * w3;
                float t3 = r3[x0] * w0 + r3[x1] * w1 + r3[x2] * w2 + r3[x3] * w3;
                output[x] = t0 * wy0 + t1 * wy1 + t2 * wy2 + t3 * wy3;
            }
        }
    }

    /// <summary>For every output index along one axis: the 4 clamped source indices and their cubic weights.</summary>
    private sealed class Taps
    {
        public Taps(int inputSize, int outputSize)
        {
            Count = outputSize;
            Indices = new int[4 * outputSize];
            Weights = new float[4 * outputSize];
            // As PyTorch: the scale is rounded to float, the source coordinate is not; the weights are evaluated in float.
            float scale = outputSize > 1 ? (float)(inputSize - 1) / (outputSize - 1) : 0f;
            for (int i = 0; i < outputSize; i++)
            {
                double real = (double)scale * i;
                int index = Math.Min((int)Math.Floor(real), inputSize - 1);
                float t = (float)Math.Clamp(real - index, 0.0, 1.0);
                float u = 1f - t;
                Weights[4 * i] = Far(t + 1f);
                Weights[4 * i + 1] = Near(t);
                Weights[4 * i + 2] = Near(u);
                Weights[4 * i + 3] = Far(u + 1f);
                for (int k = 0; k < 4; k++)
                {
                    Indices[4 * i + k] = Math.Clamp(index - 1 + k, 0, inputSize - 1);
                }
            }
        }

        public int Count { get; }
        public int[] Indices { get; }
        public float[] Weights { get; }

        /// <summary>Cubic kernel for |x| ≤ 1.</summary>
        private static float Near(float x)
        {
            const float A = CubicCoefficient;
            return ((A + 2f) * x - (A + 3f)) * x * x + 1f;
        }

        /// <summary>Cubic kernel for 1 &lt; |x| &lt; 2.</summary>
        private static float Far(float x)
        {
            const float A = CubicCoefficient;
            return ((A * x - 5f * A) * x + 8f * A) * x - 4f * A;
        }
    }

    private static void CheckPlane(int length, int height, int width, string name)
    {
        if (height < 1 || width < 1) throw new ArgumentException($"Plane '{name}' must have a positive size; got {height}x{width}.", name);
        if (length < (long)height * width) throw new ArgumentException($"Plane '{name}' has {length} values but {height}x{width} needs {(long)height * width}.", name);
    }
}
