using Microsoft.ML.UFlow.Flows;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// The CS-Flow normalizing flow (METHOD.md C.2) as a TorchSharp module: blocks k = 0 … K−1 (<see cref="CsFlowCouplingBlock"/>,
/// registered as <c>block{k}</c>), each a per-scale channel permutation and a parallel Glow coupling with kernel size
/// <see cref="CsFlowNetworkOptions.KernelSizes"/>[k]. Maps three feature scales (N×C×H×W, H/2, H/4) to latents of the
/// same shapes and returns log|det J| per sample, summed over blocks.
/// </summary>
/// <remarks>
/// State names: <c>block{k}.s{1|2}.conv_in{s}.weight</c> / <c>.bias</c>, <c>…conv_out{s}…</c>, <c>…up_conv10…</c>,
/// <c>…up_conv21…</c>, <c>…down_conv01…</c>, <c>…down_conv12…</c>, <c>block{k}.s{1|2}.gamma{s}</c> (shape [1]) and the
/// buffers <c>block{k}.perm{s}</c> (see <see cref="CsFlowCouplingBlock"/>). Disposing the module frees its native memory.
/// </remarks>
internal sealed class CsFlowModule : nn.Module<Tensor[], (Tensor[] Latents, Tensor LogDet)>
{
    private readonly CsFlowCouplingBlock[] _blocks;

    /// <summary>
    /// Creates the network with fresh weights (PyTorch's default initialisation, drawn from a generator seeded with
    /// <see cref="CsFlowNetworkOptions.Seed"/>) and the official code's permutations: <c>np.random.seed(k)</c> then
    /// three <c>np.random.permutation(C)</c> for block k (<see cref="NumPyLegacyPermutation"/>).
    /// </summary>
    /// <param name="options">The architecture; <see cref="CsFlowNetworkOptions.Channels"/> must be set.</param>
    /// <param name="device">Where the module lives (null: the CPU).</param>
    public CsFlowModule(CsFlowNetworkOptions options, Device? device = null)
        : this(options, null, device)
    {
    }

    /// <summary>
    /// Creates the network with fresh weights and the given permutations, indexed [block][scale] (null: the official
    /// code's, drawn by block index).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or the permutations do not fit them.</exception>
    public CsFlowModule(CsFlowNetworkOptions options, IReadOnlyList<IReadOnlyList<int[]>>? permutations, Device? device = null)
        : base(nameof(CsFlowModule))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        int blocks = Options.KernelSizes.Length;
        if (permutations is not null && permutations.Count != blocks)
        {
            throw new ArgumentException($"{permutations.Count} permutation sets were given for {blocks} blocks.", nameof(permutations));
        }
        using var generator = new Generator(Options.Seed);
        _blocks = new CsFlowCouplingBlock[blocks];
        try
        {
            for (int k = 0; k < blocks; k++)
            {
                IReadOnlyList<int[]> perms = permutations?[k] ?? NumPyLegacyPermutation.ForBlock(k, Options.Channels);
                _blocks[k] = new CsFlowCouplingBlock(Options.Channels, Options.HiddenChannels, Options.KernelSizes[k], Options.Alpha, perms, generator);
                register_module($"block{k}", _blocks[k]);
            }
            if (device is not null && device.type != DeviceType.CPU) this.to(device);
        }
        catch
        {
            // A half-built network frees what it has allocated (its native memory is not the GC's).
            foreach (CsFlowCouplingBlock? block in _blocks) block?.Dispose();
            throw;
        }
    }

    /// <summary>The architecture (a copy owned by the module; do not modify).</summary>
    public CsFlowNetworkOptions Options { get; }

    /// <summary>Number of blocks.</summary>
    public int BlockCount => _blocks.Length;

    /// <summary>
    /// The number of trainable values of a network with architecture <paramref name="options"/>, computed without
    /// building it: per block the two cross-scale subnetworks (s2 maps C2 = C − ⌊C/2⌋ channels to 2·⌊C/2⌋, s1 maps ⌊C/2⌋
    /// to 2·C2; <see cref="CsFlowCrossConvolutions.CountParameters"/>).
    /// </summary>
    public static long CountParameters(CsFlowNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int c1 = options.Channels / 2, c2 = options.Channels - c1;
        long total = 0;
        foreach (int k in options.KernelSizes)
        {
            total += CsFlowCrossConvolutions.CountParameters(c2, 2 * c1, options.HiddenChannels, k) + CsFlowCrossConvolutions.CountParameters(c1, 2 * c2, options.HiddenChannels, k);
        }
        return total;
    }

    /// <summary>The device of the parameters.</summary>
    public Device Device => _blocks[0].parameters().First().device;

    /// <summary>
    /// Maps features (three tensors N×C×H×W, N×C×H/2×W/2, N×C×H/4×W/4, float32, on <see cref="Device"/>) to latents of
    /// the same shapes and log|det J| per sample (N).
    /// </summary>
    /// <exception cref="ArgumentException">The inputs are not three such tensors.</exception>
    public override (Tensor[] Latents, Tensor LogDet) forward(Tensor[] features)
    {
        CheckScales(features, Options.Channels, nameof(features));
        Tensor[] x = features;
        Tensor? logDet = null;
        for (int k = 0; k < _blocks.Length; k++)
        {
            (x, Tensor blockLogDet) = _blocks[k].call(x);
            logDet = logDet is null ? blockLogDet : logDet.Plus(blockLogDet);
        }
        return (x, logDet!);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (CsFlowCouplingBlock block in _blocks) block.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="t"/> holds three float32 NCHW tensors of one batch
    /// with <paramref name="channels"/> channels whose sizes halve exactly from scale to scale.
    /// </summary>
    internal static void CheckScales(IReadOnlyList<Tensor> t, int channels, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.Count != 3) throw new ArgumentException($"'{name}' must hold 3 tensors (scales 0, 1, 2) but holds {t.Count}.", name);
        for (int s = 0; s < 3; s++)
        {
            Tensor x = t[s] ?? throw new ArgumentException($"'{name}[{s}]' is null.", name);
            if (x.dim() != 4) throw new ArgumentException($"'{name}[{s}]' has shape [{string.Join(", ", x.shape)}] but an N×C×H×W tensor was expected.", name);
            if (x.dtype != ScalarType.Float32) throw new ArgumentException($"'{name}[{s}]' is {x.dtype} but float32 was expected.", name);
            if (x.shape[1] != channels) throw new ArgumentException($"'{name}[{s}]' has shape [{string.Join(", ", x.shape)}] but {channels} channels were expected.", name);
            if (x.shape[0] != t[0].shape[0]) throw new ArgumentException($"'{name}[{s}]' has batch {x.shape[0]} but scale 0 has {t[0].shape[0]}.", name);
        }
        for (int s = 1; s < 3; s++)
        {
            if (t[s - 1].shape[2] != 2 * t[s].shape[2] || t[s - 1].shape[3] != 2 * t[s].shape[3])
            {
                throw new ArgumentException(
                    $"'{name}': scale {s - 1} is {t[s - 1].shape[2]}x{t[s - 1].shape[3]} and scale {s} is {t[s].shape[2]}x{t[s].shape[3]}; each scale must be exactly half the previous one " +
                    "(use an input size whose feature map at scale 0 is divisible by 4).", name);
            }
        }
    }
}
