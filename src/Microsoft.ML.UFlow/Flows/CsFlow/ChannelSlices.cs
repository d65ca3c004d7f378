using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>Copies of channel ranges between NCHW tensors with the same N, H, W (split and concatenation).</summary>
internal static class ChannelSlices
{
    /// <summary>destination[:, dstStart:dstStart+count] = source[:, srcStart:srcStart+count].</summary>
    public static void Copy(Tensor source, int srcStart, Tensor destination, int dstStart, int count)
    {
        int plane = source.H * source.W;
        int srcStride = source.C * plane, dstStride = destination.C * plane;
        ReadOnlySpan<float> src = source.Span;
        Span<float> dst = destination.Span;
        for (int n = 0; n < source.N; n++)
        {
            src.Slice(n * srcStride + srcStart * plane, count * plane).CopyTo(dst.Slice(n * dstStride + dstStart * plane, count * plane));
        }
    }
}
