using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>Serves another source's features changed in place by <c>change(sample index, scale, values)</c>: the same shapes, other values.</summary>
internal sealed class TransformedFeatureSource(IFeatureBatchSource inner, Action<int, int, Span<float>> change) : IFeatureBatchSource
{
    public int Count => inner.Count;

    public void ReadBatch(ReadOnlySpan<int> sampleIndices, IReadOnlyList<Tensor> destination)
    {
        inner.ReadBatch(sampleIndices, destination);
        for (int i = 0; i < sampleIndices.Length; i++)
        {
            for (int s = 0; s < destination.Count; s++) change(sampleIndices[i], s, destination[s].Sample(i));
        }
    }
}

/// <summary>Byte surgery on training checkpoints, to make the files of an older format version.</summary>
internal static class CheckpointBytes
{
    /// <summary>
    /// Turns a format-2 checkpoint into the format-1 file of the same state: version 1, and without the feature summary
    /// (a presence flag, a count and that many doubles) that format 2 added at <paramref name="summaryOffset"/>.
    /// </summary>
    public static byte[] ToVersion1(byte[] version2, int summaryOffset)
    {
        Assert.Equal(2, BitConverter.ToInt32(version2, 8));
        Assert.Equal(1, version2[summaryOffset]);
        int length = 1 + 4 + 8 * BitConverter.ToInt32(version2, summaryOffset + 1);
        byte[] version1 = [.. version2[..summaryOffset], .. version2[(summaryOffset + length)..]];
        BitConverter.GetBytes(1).CopyTo(version1, 8);
        return version1;
    }
}
