using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// The CS-Flow normalizing flow (METHOD.md C.2): blocks k = 0 … K−1, each a <see cref="ParallelPermute"/> (seed k)
/// followed by a <see cref="ParallelGlowCoupling"/> with kernel size <see cref="CsFlowNetworkOptions.KernelSizes"/>[k].
/// Maps three feature scales (sizes H, H/2, H/4, C channels each) to latents of the same shapes and returns the
/// log|det J| per sample, summed over blocks and scales.
/// </summary>
/// <remarks>Keeps the state of the last <see cref="Forward"/> for <see cref="Backward"/>; not thread-safe.</remarks>
public sealed class CsFlowNetwork
{
    private readonly ParallelPermute[] _permutes;
    private readonly ParallelGlowCoupling[] _couplings;
    private double[] _logDet = [];

    /// <summary>Creates the network with fresh weights (seeded by <see cref="CsFlowNetworkOptions.Seed"/>) and permutations seeded by block index.</summary>
    public CsFlowNetwork(CsFlowNetworkOptions options)
        : this(options, null)
    {
    }

    /// <summary>
    /// Creates the network with fresh weights and the given permutations, indexed [block][scale] (null: drawn from the
    /// block index).
    /// </summary>
    public CsFlowNetwork(CsFlowNetworkOptions options, IReadOnlyList<IReadOnlyList<int[]>>? permutations)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        int blocks = Options.KernelSizes.Length;
        if (permutations is not null && permutations.Count != blocks)
        {
            throw new ArgumentException($"{permutations.Count} permutation sets were given for {blocks} blocks.", nameof(permutations));
        }
        var random = new SeededRandom(Options.Seed);
        _permutes = new ParallelPermute[blocks];
        _couplings = new ParallelGlowCoupling[blocks];
        for (int k = 0; k < blocks; k++)
        {
            _permutes[k] = permutations is null ? new ParallelPermute(Options.Channels, k) : new ParallelPermute(permutations[k]);
            if (_permutes[k].Channels != Options.Channels)
            {
                throw new ArgumentException($"Permutations of block {k} have {_permutes[k].Channels} entries but Channels is {Options.Channels}.", nameof(permutations));
            }
            _couplings[k] = new ParallelGlowCoupling(Options.Channels, Options.HiddenChannels, Options.KernelSizes[k], Options.Alpha, random, $"block{k}");
        }
        Parameters = _couplings.SelectMany(c => c.Parameters).ToArray();
    }

    /// <summary>The architecture (a copy owned by the network; do not modify).</summary>
    public CsFlowNetworkOptions Options { get; }

    /// <summary>Number of coupling blocks.</summary>
    public int BlockCount => _couplings.Length;

    /// <summary>The permutation layer of block <paramref name="block"/>.</summary>
    public ParallelPermute Permute(int block) => _permutes[block];

    /// <summary>The coupling of block <paramref name="block"/>.</summary>
    public ParallelGlowCoupling Coupling(int block) => _couplings[block];

    /// <summary>All trainable parameters, block by block (names are unique).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Number of trainable values.</summary>
    public long ParameterCount => Parameters.Sum(p => (long)p.Value.Length);

    /// <summary>
    /// Number of trainable values of a network with these options, computed from the sizes without building it
    /// (C = 304, hidden 1024, kernels [3, 3, 3, 5] gives 275 227 288 ≈ 275.2 M, METHOD.md C.2).
    /// </summary>
    public static long CountParameters(CsFlowNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int c1 = options.Channels / 2, c2 = options.Channels - c1;
        long total = 0;
        foreach (int k in options.KernelSizes)
        {
            total += CrossScaleSubnet.CountParameters(c2, 2 * c1, options.HiddenChannels, k);
            total += CrossScaleSubnet.CountParameters(c1, 2 * c2, options.HiddenChannels, k);
        }
        return total;
    }

    /// <summary>
    /// Maps features (three NCHW tensors, C channels, sizes H, H/2, H/4) to latents. Returns the latents (owned by the
    /// network, overwritten by the next call) and log|det J| per sample (also owned).
    /// </summary>
    public (IReadOnlyList<Tensor> Latents, double[] LogDet) Forward(IReadOnlyList<Tensor> features)
    {
        CrossScaleSubnet.CheckScales(features, Options.Channels, nameof(features));
        int batch = features[0].N;
        if (_logDet.Length != batch) _logDet = new double[batch];
        Array.Clear(_logDet);
        IReadOnlyList<Tensor> x = features;
        for (int k = 0; k < _couplings.Length; k++)
        {
            x = _permutes[k].Forward(x);
            x = _couplings[k].Forward(x, _logDet);
        }
        return (x, _logDet);
    }

    /// <summary>
    /// Given ∂L/∂latents and ∂L/∂logDet (per sample) for the last <see cref="Forward"/>, accumulates parameter
    /// gradients and returns ∂L/∂features (owned by the network).
    /// </summary>
    public IReadOnlyList<Tensor> Backward(IReadOnlyList<Tensor> gradLatents, ReadOnlySpan<double> gradLogDet)
    {
        IReadOnlyList<Tensor> g = gradLatents;
        for (int k = _couplings.Length - 1; k >= 0; k--)
        {
            g = _couplings[k].Backward(g, gradLogDet);
            g = _permutes[k].Backward(g);
        }
        return g;
    }

    /// <summary>Maps latents back to features (owned by the network). Invalidates the state kept for <see cref="Backward"/>.</summary>
    public IReadOnlyList<Tensor> Inverse(IReadOnlyList<Tensor> latents)
    {
        CrossScaleSubnet.CheckScales(latents, Options.Channels, nameof(latents));
        IReadOnlyList<Tensor> z = latents;
        for (int k = _couplings.Length - 1; k >= 0; k--)
        {
            z = _couplings[k].Inverse(z);
            z = _permutes[k].Inverse(z);
        }
        return z;
    }
}
