using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>Channel slicing and concatenation of NCHW tensors (FrEIA <c>Split</c> / <c>Concat</c>; log-det 0).</summary>
internal static class ChannelOps
{
    /// <summary>Copies channels [sourceStart, sourceStart + count) of every sample into channels [destinationStart, ...).</summary>
    public static void Copy(Tensor source, int sourceStart, Tensor destination, int destinationStart, int count)
    {
        int plane = source.H * source.W;
        if (destination.H * destination.W != plane || destination.N != source.N)
        {
            throw new ArgumentException($"Cannot copy channels from {source} into {destination}: batch or spatial sizes differ.", nameof(destination));
        }
        int sc = source.C, dc = destination.C;
        float[] src = source.Buffer, dst = destination.Buffer;
        for (int n = 0; n < source.N; n++)
        {
            Array.Copy(src, ((long)n * sc + sourceStart) * plane, dst, ((long)n * dc + destinationStart) * plane, (long)count * plane);
        }
    }

    /// <summary>Adds channels [sourceStart, sourceStart + count) of every sample to channels [destinationStart, ...).</summary>
    public static void Add(Tensor source, int sourceStart, Tensor destination, int destinationStart, int count)
    {
        int plane = source.H * source.W;
        int sc = source.C, dc = destination.C;
        for (int n = 0; n < source.N; n++)
        {
            ReadOnlySpan<float> s = source.Buffer.AsSpan((n * sc + sourceStart) * plane, count * plane);
            Span<float> d = destination.Buffer.AsSpan((n * dc + destinationStart) * plane, count * plane);
            TensorPrimitives.Add(d, s, d);
        }
    }
}
