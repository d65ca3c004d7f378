namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// The source coordinates and weights of one bilinear resize shape (in H×W → out H×W, PyTorch align_corners = False),
/// computed once so that resizing many planes of one shape (every channel of every sample) does not rebuild them per
/// plane. The arithmetic is exactly <see cref="BilinearResize"/>'s, so results are bit-identical to it.
/// </summary>
internal sealed class BilinearTable
{
    private readonly int[] _x0, _x1, _y0, _y1;
    private readonly float[] _lx, _ly;

    public BilinearTable(int inHeight, int inWidth, int outHeight, int outWidth)
    {
        if (inHeight <= 0 || inWidth <= 0 || outHeight <= 0 || outWidth <= 0)
        {
            throw new ArgumentException($"Sizes must be positive: {inHeight}x{inWidth} -> {outHeight}x{outWidth}.");
        }
        (InHeight, InWidth, OutHeight, OutWidth) = (inHeight, inWidth, outHeight, outWidth);
        (_x0, _x1, _lx) = Axis(inWidth, outWidth);
        (_y0, _y1, _ly) = Axis(inHeight, outHeight);
    }

    public int InHeight { get; }
    public int InWidth { get; }
    public int OutHeight { get; }
    public int OutWidth { get; }

    /// <summary>This table when it has the given shape, else a new one (callers keep one per resize site).</summary>
    public static BilinearTable For(BilinearTable? cached, int inHeight, int inWidth, int outHeight, int outWidth) =>
        cached is not null && cached.InHeight == inHeight && cached.InWidth == inWidth && cached.OutHeight == outHeight && cached.OutWidth == outWidth
            ? cached
            : new BilinearTable(inHeight, inWidth, outHeight, outWidth);

    /// <summary>Resizes one plane (the counterpart of <see cref="BilinearResize.Forward"/>).</summary>
    public void Forward(ReadOnlySpan<float> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int inWidth = InWidth, outWidth = OutWidth;
        for (int oy = 0; oy < OutHeight; oy++)
        {
            BilinearResize.ForwardRow(source.Slice(_y0[oy] * inWidth, inWidth), source.Slice(_y1[oy] * inWidth, inWidth), _ly[oy], _x0, _x1, _lx,
                destination.Slice(oy * outWidth, outWidth));
        }
    }

    /// <summary>Adds the source gradient of one plane (the counterpart of <see cref="BilinearResize.BackwardAccumulate"/>).</summary>
    public void BackwardAccumulate(ReadOnlySpan<float> gradDestination, Span<float> gradSource)
    {
        CheckLengths(gradSource.Length, gradDestination.Length);
        int inWidth = InWidth, outWidth = OutWidth;
        for (int oy = 0; oy < OutHeight; oy++)
        {
            BilinearResize.BackwardRow(gradDestination.Slice(oy * outWidth, outWidth), _ly[oy], _x0, _x1, _lx,
                gradSource.Slice(_y0[oy] * inWidth, inWidth), gradSource.Slice(_y1[oy] * inWidth, inWidth));
        }
    }

    private static (int[] I0, int[] I1, float[] Lambda) Axis(int inSize, int outSize)
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var lambda = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++) BilinearResize.SourceIndex(scale, o, inSize, out i0[o], out i1[o], out lambda[o]);
        return (i0, i1, lambda);
    }

    private void CheckLengths(int sourceLength, int destinationLength)
    {
        if (sourceLength != InHeight * InWidth || destinationLength != OutHeight * OutWidth)
        {
            throw new ArgumentException($"Planes of {sourceLength} and {destinationLength} values do not fit the table {InHeight}x{InWidth} -> {OutHeight}x{OutWidth}.");
        }
    }
}
