namespace Microsoft.ML.UFlow;

/// <summary>Splits a concatenated multi-scale vector (maps flattened, finest first) by its shapes column.</summary>
internal static class LatentLayout
{
    public readonly record struct Scale(ReadOnlyMemory<float> Values, int Channels, int Height, int Width);

    /// <exception cref="InvalidOperationException">The shapes are not whole (C, H, W) triples or do not add up to the vector.</exception>
    public static Scale[] Split(float[] values, float[] shapes, string column)
    {
        if (shapes.Length == 0 || shapes.Length % 3 != 0)
            throw new InvalidOperationException($"Column '{column}{AnomalyColumns.ShapesSuffix}' must hold (C, H, W) triples; it has {shapes.Length} values.");
        var scales = new Scale[shapes.Length / 3];
        int offset = 0;
        for (int s = 0; s < scales.Length; s++)
        {
            int c = (int)shapes[3 * s], h = (int)shapes[3 * s + 1], w = (int)shapes[3 * s + 2];
            int size = c * h * w;
            if (size <= 0 || offset + size > values.Length)
                throw new InvalidOperationException($"Column '{column}' has {values.Length} values, fewer than its shapes [{string.Join(", ", shapes)}] need.");
            scales[s] = new Scale(values.AsMemory(offset, size), c, h, w);
            offset += size;
        }
        if (offset != values.Length)
            throw new InvalidOperationException($"Column '{column}' has {values.Length} values; its shapes [{string.Join(", ", shapes)}] need {offset}.");
        return scales;
    }

    /// <summary>(C, H, W) triples of a shapes column.</summary>
    public static (int Channels, int Height, int Width)[] Shapes(float[] shapes, string column)
    {
        if (shapes.Length == 0 || shapes.Length % 3 != 0)
            throw new InvalidOperationException($"Column '{column}{AnomalyColumns.ShapesSuffix}' must hold (C, H, W) triples; it has {shapes.Length} values.");
        return Enumerable.Range(0, shapes.Length / 3).Select(s => ((int)shapes[3 * s], (int)shapes[3 * s + 1], (int)shapes[3 * s + 2])).ToArray();
    }
}
