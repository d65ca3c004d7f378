namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// The architecture of a U-shaped flow (METHOD.md A.3): the feature scales (finest first), flow steps per stage,
/// subnet width ratio, soft-clamp α, the optional trainable feature LayerNorm (A.2.2) and the seed of the
/// initialisation and permutations.
/// </summary>
public sealed class UFlowConfig
{
    /// <summary>Creates a configuration over the given scales, finest first; each scale must be a power-of-two multiple
    /// (usually 2×) of the next one's spatial size.</summary>
    public UFlowConfig(IEnumerable<FlowScale> scales)
    {
        ArgumentNullException.ThrowIfNull(scales);
        Scales = scales.ToArray();
        if (Scales.Count == 0) throw new ArgumentException("A U-shaped flow needs at least one scale.", nameof(scales));
    }

    /// <summary>The feature scales, finest first (scale 1 of the paper at index 0).</summary>
    public IReadOnlyList<FlowScale> Scales { get; }

    /// <summary>Flow steps per stage (default 4, every official config); kernels alternate 3, 1, 3, 1, ...</summary>
    public int FlowSteps { get; init; } = 4;

    /// <summary>Subnet hidden width as a fraction of C1 (default 1.0).</summary>
    public double SubnetChannelsRatio { get; init; } = 1.0;

    /// <summary>α of the soft clamp α·tanh(s) (default 2.0, FrEIA@pin form).</summary>
    public float AffineClamp { get; init; } = 2.0f;

    /// <summary>Whether each feature map first goes through a trainable whole-map LayerNorm (A.2.2; default false).</summary>
    public bool FeatureLayerNorm { get; init; }

    /// <summary>Seed of the subnet initialisation and the permutations (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>MS-CaiT (A.2.1): 768@28², 384@14², no LayerNorm.</summary>
    public static UFlowConfig MsCait(ulong seed = 0) => new([new(768, 28, 28), new(384, 14, 14)]) { Seed = seed };

    /// <summary>ResNet-50 v2 layers 1–3 at input 256 (or <paramref name="inputSize"/>): 256@/4, 512@/8, 1024@/16, LayerNorm on.</summary>
    public static UFlowConfig ResNet50V2(int inputSize = 256, ulong seed = 0) => new([new(256, inputSize / 4, inputSize / 4), new(512, inputSize / 8, inputSize / 8), new(1024, inputSize / 16, inputSize / 16)])
    {
        FeatureLayerNorm = true,
        Seed = seed,
    };

    /// <summary>MobileNetV2 at input 256 (or <paramref name="inputSize"/>): 24@/4, 32@/8, 96@/16, LayerNorm on.</summary>
    public static UFlowConfig MobileNetV2(int inputSize = 256, ulong seed = 0) => new([new(24, inputSize / 4, inputSize / 4), new(32, inputSize / 8, inputSize / 8), new(96, inputSize / 16, inputSize / 16)])
    {
        FeatureLayerNorm = true,
        Seed = seed,
    };

    /// <summary>The preset named <c>mscait</c>, <c>resnet50v2</c> or <c>mobilenetv2</c>.</summary>
    public static UFlowConfig FromPreset(string name, ulong seed = 0) => name.ToLowerInvariant() switch
    {
        "mscait" => MsCait(seed),
        "resnet50v2" => ResNet50V2(seed: seed),
        "mobilenetv2" => MobileNetV2(seed: seed),
        _ => throw new ArgumentException($"Unknown flow preset '{name}'; expected mscait, resnet50v2 or mobilenetv2.", nameof(name)),
    };

    /// <summary>A copy keeping only the scales at <paramref name="indices"/> (ascending, finest first) and every other setting.</summary>
    public UFlowConfig SelectScales(params int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)Scales.Count || (i > 0 && indices[i] <= indices[i - 1]))
            {
                throw new ArgumentException($"Scale indices must be ascending and within 0..{Scales.Count - 1}; got [{string.Join(", ", indices)}].", nameof(indices));
            }
        }
        return new UFlowConfig(indices.Select(i => Scales[i])) { FlowSteps = FlowSteps, SubnetChannelsRatio = SubnetChannelsRatio, AffineClamp = AffineClamp, FeatureLayerNorm = FeatureLayerNorm, Seed = Seed };
    }

    /// <summary>The subnet kernel of step <paramref name="step"/>: 3 for even steps, 1 for odd ones.</summary>
    public static int KernelOfStep(int step) => step % 2 == 0 ? 3 : 1;

    /// <summary>Derives the channel plan of the U graph, validating the scales; throws <see cref="ArgumentException"/> naming the bad scale.</summary>
    public UFlowPlan Plan() => UFlowPlan.Create(this);

    /// <summary>The number of trainable parameters (subnets, global affine, and LayerNorm affine when enabled), computed without building the flow.</summary>
    public long CountTrainableParameters()
    {
        UFlowPlan plan = Plan();
        long total = 0;
        for (int l = 0; l < Scales.Count; l++)
        {
            int c = plan.StageChannels[l];
            int c1 = c - c / 2, c2 = c / 2, hidden = (int)(c1 * SubnetChannelsRatio);
            for (int s = 0; s < FlowSteps; s++)
            {
                int k = KernelOfStep(s);
                total += (long)c1 * hidden * k * k + hidden + (long)hidden * 2 * c2 * k * k + 2 * c2 + 2L * c;
            }
            if (FeatureLayerNorm) total += 2L * Scales[l].Channels * Scales[l].Height * Scales[l].Width;
        }
        return total;
    }

    /// <inheritdoc/>
    public override string ToString() => $"[{string.Join(", ", Scales)}], {FlowSteps} steps, ratio {SubnetChannelsRatio}, clamp {AffineClamp}, layernorm {FeatureLayerNorm}, seed {Seed}";
}
