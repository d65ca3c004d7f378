using Microsoft.ML.UFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Benchmarks.Knn;

/// <summary>
/// One scale's memory bank for nearest-neighbour scoring (k = 1): N feature vectors of C channels on TorchSharp, with
/// their squared norms. The distance of a query q to the bank is min_b sqrt(max(|q|² − 2 q·b + |b|², 0)), computed with
/// one matrix product per chunk of the bank (each in its own DisposeScope), so that at most queries × chunk distances
/// exist at once; the clamp removes the small negative values that the float subtraction leaves for near-duplicates.
/// </summary>
internal sealed class MemoryBank : IDisposable
{
    /// <summary>The bank vectors per chunk: 4096 × 4096 queries is a 64 MB distance block.</summary>
    public const int DefaultChunk = 4096;

    // Held for the process (TorchSharp#1434: an implicit Scalar can be finalized while libtorch reads it).
    private static readonly Scalar s_zero = 0f, s_infinity = float.PositiveInfinity;

    private readonly Tensor _vectors;      // N×C
    private readonly Tensor _squaredNorms; // 1×N
    private readonly int _chunk;

    /// <summary>Creates a bank from <paramref name="count"/> row-major vectors of <paramref name="channels"/> values.</summary>
    /// <exception cref="ArgumentException">The bank is empty or the sizes disagree.</exception>
    public MemoryBank(float[] vectors, int count, int channels, int chunk = DefaultChunk)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (count < 1 || channels < 1) throw new ArgumentException($"A memory bank needs at least one vector of at least one channel; got {count}×{channels}.", nameof(vectors));
        if ((long)count * channels != vectors.Length) throw new ArgumentException($"{vectors.Length} values are not {count} vectors of {channels} channels.", nameof(vectors));
        ArgumentOutOfRangeException.ThrowIfLessThan(chunk, 1);
        Count = count;
        Channels = channels;
        _chunk = chunk;
        _vectors = torch.tensor(vectors, [count, channels]);
        using var scope = torch.NewDisposeScope();
        _squaredNorms = _vectors.mul(_vectors).sum(1).unsqueeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>Vectors in the bank.</summary>
    public int Count { get; }

    /// <summary>Channels of each vector.</summary>
    public int Channels { get; }

    /// <summary>The Euclidean distance of each row of <paramref name="queries"/> (Q×C) to its nearest bank vector.</summary>
    /// <exception cref="ArgumentException">The queries are not Q×C.</exception>
    public float[] NearestDistances(Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.Dimensions != 2 || queries.shape[1] != Channels)
            throw new ArgumentException($"The queries must be Q×{Channels}; got [{string.Join(", ", queries.shape)}].", nameof(queries));
        using var scope = torch.NewDisposeScope();
        long q = queries.shape[0];
        Tensor queryNorms = queries.mul(queries).sum(1, keepdim: true); // Q×1
        Tensor best = torch.full([q], s_infinity);
        for (int start = 0; start < Count; start += _chunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            int length = Math.Min(_chunk, Count - start);
            Tensor bank = _vectors.narrow(0, start, length);
            // |q|² + |b|², then − 2 q·b added in place by the one matrix product.
            Tensor squared = queryNorms.Plus(_squaredNorms.narrow(1, start, length));
            squared.addmm_(queries, bank.t(), beta: 1f, alpha: -2f);
            best.copy_(torch.minimum(best, squared.amin([1])));
        }
        return best.clamp_min_(s_zero).sqrt_().data<float>().ToArray();
    }

    /// <summary>Frees the bank's tensors.</summary>
    public void Dispose()
    {
        _vectors.Dispose();
        _squaredNorms.Dispose();
    }
}
