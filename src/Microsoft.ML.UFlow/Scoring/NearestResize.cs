namespace Microsoft.ML.UFlow.Scoring;

/// <summary>Nearest-neighbour resizing of one plane with PyTorch's <c>F.interpolate(mode='nearest')</c> source rule.</summary>
internal static class NearestResize
{
    public static void Forward(ReadOnlySpan<float> source, int inHeight, int inWidth, Span<float> destination, int outHeight, int outWidth)
    {
        if (source.Length != inHeight * inWidth || destination.Length != outHeight * outWidth)
        {
            throw new ArgumentException($"Nearest resize {inHeight}x{inWidth} -> {outHeight}x{outWidth} got spans of {source.Length} and {destination.Length} values.");
        }
        Span<int> columns = outWidth <= 1024 ? stackalloc int[outWidth] : new int[outWidth];
        float scaleX = (float)inWidth / outWidth, scaleY = (float)inHeight / outHeight;
        for (int ox = 0; ox < outWidth; ox++)
        {
            columns[ox] = SourceIndex(scaleX, ox, inWidth);
        }
        for (int oy = 0; oy < outHeight; oy++)
        {
            ReadOnlySpan<float> row = source.Slice(SourceIndex(scaleY, oy, inHeight) * inWidth, inWidth);
            Span<float> target = destination.Slice(oy * outWidth, outWidth);
            for (int ox = 0; ox < outWidth; ox++)
            {
                target[ox] = row[columns[ox]];
            }
        }
    }

    // PyTorch nearest_idx: floor(dst · in/out) with the scale in float, clamped to the last index.
    private static int SourceIndex(float scale, int dst, int inSize) => Math.Min((int)MathF.Floor(dst * scale), inSize - 1);
}
