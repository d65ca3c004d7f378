using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// A fixed random channel permutation per scale (METHOD.md C.2): out_s[:, i] = in_s[:, π_s(i)]; log-det 0.
/// </summary>
/// <remarks>
/// The official code draws π_0, π_1, π_2 with <c>np.random.seed(k)</c> then three <c>np.random.permutation(C)</c>
/// calls. NumPy's Mersenne-Twister stream is not reproduced here: the permutations come from
/// <see cref="SeededRandom"/> seeded with the block index (three successive draws, scale 0 first). They are saved
/// with the model, and explicit permutations (e.g. read from an official checkpoint) can be passed instead.
/// </remarks>
public sealed class ParallelPermute
{
    private readonly int[][] _permutations;
    private readonly Tensor[] _output = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradInput = [new(1), new(1), new(1)];

    /// <summary>Draws the three permutations from <see cref="SeededRandom"/>(<paramref name="seed"/>).</summary>
    public ParallelPermute(int channels, int seed)
        : this(Draw(channels, seed))
    {
    }

    /// <summary>Uses the given permutations (one per scale, each a permutation of 0..C−1).</summary>
    /// <exception cref="ArgumentException">There are not three permutations of the same length, or one is not a permutation.</exception>
    public ParallelPermute(IReadOnlyList<int[]> permutations)
    {
        ArgumentNullException.ThrowIfNull(permutations);
        if (permutations.Count != 3) throw new ArgumentException($"Three permutations are needed, got {permutations.Count}.", nameof(permutations));
        int c = permutations[0].Length;
        _permutations = new int[3][];
        for (int s = 0; s < 3; s++)
        {
            int[] p = permutations[s];
            if (p.Length != c) throw new ArgumentException($"Permutation {s} has {p.Length} entries but permutation 0 has {c}.", nameof(permutations));
            var seen = new bool[c];
            foreach (int i in p)
            {
                if ((uint)i >= (uint)c || seen[i]) throw new ArgumentException($"Permutation {s} is not a permutation of 0..{c - 1}.", nameof(permutations));
                seen[i] = true;
            }
            _permutations[s] = p.ToArray();
        }
        Channels = c;
    }

    /// <summary>Number of channels permuted.</summary>
    public int Channels { get; }

    /// <summary>The permutation π_s of scale <paramref name="scale"/> (a copy).</summary>
    public int[] Permutation(int scale) => _permutations[scale].ToArray();

    /// <summary>Permutes the channels of each scale; the outputs are owned by this object.</summary>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs)
    {
        for (int s = 0; s < 3; s++) Apply(inputs[s], _output[s], _permutations[s], inverse: false);
        return _output;
    }

    /// <summary>∂L/∂input from ∂L/∂output (the inverse permutation); the results are owned by this object.</summary>
    public IReadOnlyList<Tensor> Backward(IReadOnlyList<Tensor> gradOutputs)
    {
        for (int s = 0; s < 3; s++) Apply(gradOutputs[s], _gradInput[s], _permutations[s], inverse: true);
        return _gradInput;
    }

    /// <summary>The inverse map (same as <see cref="Backward"/>, as a permutation is orthogonal).</summary>
    public IReadOnlyList<Tensor> Inverse(IReadOnlyList<Tensor> outputs) => Backward(outputs);

    private static int[][] Draw(int channels, int seed)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be positive.");
        var random = new SeededRandom((ulong)seed);
        return [random.Permutation(channels), random.Permutation(channels), random.Permutation(channels)];
    }

    private void Apply(Tensor source, Tensor destination, int[] permutation, bool inverse)
    {
        source.CheckRank4("input");
        if (source.C != Channels) throw new ArgumentException($"Tensor {source} has {source.C} channels but the permutation has {Channels}.", nameof(source));
        destination.EnsureShape(source.N, source.C, source.H, source.W);
        for (int n = 0; n < source.N; n++)
        {
            for (int i = 0; i < Channels; i++)
            {
                int from = inverse ? i : permutation[i], to = inverse ? permutation[i] : i;
                source.Plane(n, from).CopyTo(destination.Plane(n, to));
            }
        }
    }
}
