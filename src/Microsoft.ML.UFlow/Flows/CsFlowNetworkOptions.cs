namespace Microsoft.ML.UFlow.Flows;

/// <summary>The architecture of a CS-Flow network (METHOD.md C.2), as trained and exported; defaults are CS-Flow's except the channels.</summary>
public sealed class CsFlowNetworkOptions
{
    /// <summary>Feature channels C of every scale (304 for EfficientNet-B5; depends on the backbone). Required.</summary>
    public int Channels { get; set; }

    /// <summary>Hidden width of the cross-scale subnetworks (default 1024).</summary>
    public int HiddenChannels { get; set; } = 1024;

    /// <summary>Kernel size of each coupling block, which also sets the number of blocks (default [3, 3, 3, 5]).</summary>
    public int[] KernelSizes { get; set; } = [3, 3, 3, 5];

    /// <summary>Soft-clamp α (default 3).</summary>
    public float Alpha { get; set; } = 3f;

    /// <summary>Seed of the initial weights (the permutations are seeded by the block index, as in the official code).</summary>
    public ulong Seed { get; set; } = 42;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Channels < 2) throw new ArgumentException($"Channels must be at least 2 (got {Channels}).", nameof(Channels));
        if (HiddenChannels < 1) throw new ArgumentException($"HiddenChannels must be positive (got {HiddenChannels}).", nameof(HiddenChannels));
        if (KernelSizes is null || KernelSizes.Length == 0) throw new ArgumentException("KernelSizes must name at least one block.", nameof(KernelSizes));
        foreach (int k in KernelSizes)
        {
            if (k < 1 || k % 2 == 0) throw new ArgumentException($"Kernel sizes must be odd and positive (got {k}).", nameof(KernelSizes));
        }
        if (!(Alpha > 0) || float.IsInfinity(Alpha)) throw new ArgumentException($"Alpha must be positive and finite (got {Alpha}).", nameof(Alpha));
    }

    /// <summary>A copy of these options.</summary>
    public CsFlowNetworkOptions Clone() => new()
    {
        Channels = Channels,
        HiddenChannels = HiddenChannels,
        KernelSizes = KernelSizes.ToArray(),
        Alpha = Alpha,
        Seed = Seed,
    };
}
