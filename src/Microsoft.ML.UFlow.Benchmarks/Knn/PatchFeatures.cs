using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Benchmarks.Knn;

/// <summary>
/// One scale's feature map as the vectors the nearest-neighbour search compares: optionally averaged over each
/// position's k×k neighbourhood (PatchCore's local aggregation, stride 1, the border averaged over the positions that
/// exist), then one row of C values per position, row-major over the H×W grid.
/// </summary>
internal static class PatchFeatures
{
    /// <summary>The H·W × C vectors of a C×H×W map (<paramref name="pool"/> 1: the features as they are).</summary>
    /// <exception cref="ArgumentException">The sizes disagree, or the pooling side is not a positive odd number.</exception>
    public static Tensor Vectors(ReadOnlyMemory<float> map, int channels, int height, int width, int pool)
    {
        if ((long)channels * height * width != map.Length)
            throw new ArgumentException($"{map.Length} values are not a {channels}×{height}×{width} map.", nameof(map));
        if (pool < 1 || pool % 2 == 0) throw new ArgumentException($"The pooling side must be a positive odd number (the position at its centre); got {pool}.", nameof(pool));
        using var scope = torch.NewDisposeScope();
        // The features' own array where there is one (the ML.NET row's vector), pinned while the view lives: no copy.
        Tensor x = MemoryMarshal.TryGetArray(map, out ArraySegment<float> segment)
            ? torch.frombuffer(segment.Array!, ScalarType.Float32, count: segment.Count, offset: segment.Offset)
            : torch.tensor(map.ToArray());
        x = x.view(1, channels, height, width);
        if (pool > 1) x = nn.functional.avg_pool2d(x, pool, stride: 1, padding: pool / 2, count_include_pad: false);
        return x.reshape(channels, (long)height * width).t().contiguous().MoveToOuterDisposeScope();
    }
}
