using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// One CS-Flow block (METHOD.md C.2) as a TorchSharp module: a fixed channel permutation per scale followed by the
/// parallel Glow coupling over the three scales. With C1 = ⌊C/2⌋ and C2 = C − C1, per scale i:
/// <code>
/// x_i = in_i[:, perm_i]                       (out[:, c] = in[:, perm_i[c]])
/// r  = s2(x_{·,2});  y_{i,1} = exp(σ(r_i[:, :C1]))  ⊙ x_{i,1} + r_i[:, C1:]
/// r' = s1(y_{·,1});  y_{i,2} = exp(σ(r'_i[:, :C2])) ⊙ x_{i,2} + r'_i[:, C2:]
/// out_i = clamp(concat(y_{i,1}, y_{i,2}), −1e6, 1e6);   log|det J| = Σ σ(s) + Σ σ(s')
/// </code>
/// where s1, s2 are <see cref="CsFlowCrossConvolutions"/> and σ is <see cref="AtanSoftClamp"/>.
/// </summary>
/// <remarks>
/// State names, relative to the block: <c>s2.*</c>, <c>s1.*</c> (the subnetworks' parameters) and the buffers
/// <c>perm0</c>, <c>perm1</c>, <c>perm2</c>: the permutation of each scale as float32 indices, length C, with the meaning
/// out[:, c] = in[:, perm[c]] (v1's <c>ParallelPermute</c> and the official <c>x[:, perm]</c>).
/// </remarks>
internal sealed class CsFlowCouplingBlock : nn.Module<Tensor[], (Tensor[] Outputs, Tensor LogDet)>
{
    /// <summary>The output clamp of the official code.</summary>
    public const double OutputClamp = 1e6;

    [ComponentName(Name = "perm0")] private readonly Tensor _perm0;
    [ComponentName(Name = "perm1")] private readonly Tensor _perm1;
    [ComponentName(Name = "perm2")] private readonly Tensor _perm2;
    [ComponentName(Name = "s2")] private readonly CsFlowCrossConvolutions _s2;
    [ComponentName(Name = "s1")] private readonly CsFlowCrossConvolutions _s1;
    [ComponentName(Name = "clamp")] private readonly AtanSoftClamp _clamp;
    private readonly Scalar _clampLow = -OutputClamp, _clampHigh = OutputClamp; // held: see HeldScalars

    /// <summary>
    /// Creates the block with the given permutations (one per scale, each of 0..C−1) and fresh subnetworks drawn from
    /// <paramref name="generator"/> (s2 first, then s1).
    /// </summary>
    /// <exception cref="ArgumentException">The permutations are not three permutations of 0..C−1.</exception>
    public CsFlowCouplingBlock(int channels, int hiddenChannels, int kernelSize, double alpha, IReadOnlyList<int[]> permutations, Generator generator)
        : base(nameof(CsFlowCouplingBlock))
    {
        if (channels < 2) throw new ArgumentOutOfRangeException(nameof(channels), channels, "At least 2 channels are needed to split.");
        CheckPermutations(permutations, channels);
        this.channels = channels;
        first_half = channels / 2;
        second_half = channels - first_half;
        _perm0 = PermutationBuffer(permutations[0]);
        _perm1 = PermutationBuffer(permutations[1]);
        _perm2 = PermutationBuffer(permutations[2]);
        _s2 = new CsFlowCrossConvolutions(second_half, 2 * first_half, hiddenChannels, kernelSize, generator);
        _s1 = new CsFlowCrossConvolutions(first_half, 2 * second_half, hiddenChannels, kernelSize, generator);
        _clamp = new AtanSoftClamp(alpha);
        RegisterComponents();
    }

    /// <summary>Channels C of every scale.</summary>
    public int channels { get; }

    /// <summary>C1 = ⌊C/2⌋.</summary>
    public int first_half { get; }

    /// <summary>C2 = C − C1.</summary>
    public int second_half { get; }

    /// <summary>
    /// Permutes and couples the three scales (N×C×H×W, H/2, H/4); returns the outputs (same shapes) and this block's
    /// log|det J| per sample (N).
    /// </summary>
    public override (Tensor[] Outputs, Tensor LogDet) forward(Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != 3) throw new ArgumentException($"Three scales are expected, got {inputs.Length}.", nameof(inputs));
        Tensor[] perms = [_perm0, _perm1, _perm2];
        var x1 = new Tensor[3];
        var x2 = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            Tensor x = inputs[s].index_select(1, perms[s].to_type(ScalarType.Int64));
            x1[s] = x.narrow(1, 0, first_half);
            x2[s] = x.narrow(1, first_half, second_half);
        }
        Tensor[] r = _s2.call(x2);
        var y1 = new Tensor[3];
        var logDet = new Tensor[6];
        for (int s = 0; s < 3; s++)
        {
            Tensor sigma = _clamp.call(r[s].narrow(1, 0, first_half));
            y1[s] = (torch.exp(sigma) * x1[s]).Plus(r[s].narrow(1, first_half, first_half));
            logDet[s] = sigma.sum([1, 2, 3]);
        }
        Tensor[] rPrime = _s1.call(y1);
        var outputs = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            Tensor sigma = _clamp.call(rPrime[s].narrow(1, 0, second_half));
            Tensor y2 = (torch.exp(sigma) * x2[s]).Plus(rPrime[s].narrow(1, second_half, second_half));
            logDet[3 + s] = sigma.sum([1, 2, 3]);
            outputs[s] = torch.cat([y1[s], y2], 1).clamp(_clampLow, _clampHigh);
        }
        // The official code sums the first half's three terms, then the second half's, and adds the two.
        return (outputs, logDet[0].Plus(logDet[1]).Plus(logDet[2]).Plus(logDet[3].Plus(logDet[4]).Plus(logDet[5])));
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _s2.Dispose();
            _s1.Dispose();
            _clamp.Dispose();
            _perm0.Dispose();
            _perm1.Dispose();
            _perm2.Dispose();
            _clampLow.Dispose();
            _clampHigh.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Throws unless <paramref name="permutations"/> holds three permutations of 0..<paramref name="channels"/>−1.</summary>
    internal static void CheckPermutations(IReadOnlyList<int[]> permutations, int channels)
    {
        ArgumentNullException.ThrowIfNull(permutations);
        if (permutations.Count != 3) throw new ArgumentException($"Three permutations (one per scale) are needed, got {permutations.Count}.", nameof(permutations));
        for (int s = 0; s < 3; s++)
        {
            int[] p = permutations[s] ?? throw new ArgumentException($"Permutation {s} is null.", nameof(permutations));
            if (p.Length != channels) throw new ArgumentException($"Permutation {s} has {p.Length} entries but there are {channels} channels.", nameof(permutations));
            var seen = new bool[channels];
            foreach (int i in p)
            {
                if ((uint)i >= (uint)channels || seen[i]) throw new ArgumentException($"Permutation {s} is not a permutation of 0..{channels - 1}.", nameof(permutations));
                seen[i] = true;
            }
        }
    }

    private static Tensor PermutationBuffer(int[] permutation) => torch.tensor(permutation.Select(i => (float)i).ToArray());
}
