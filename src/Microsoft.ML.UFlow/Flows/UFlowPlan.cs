namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// The channel bookkeeping of the U graph (METHOD.md A.3.1), index 0 = finest scale: the channels each stage works on,
/// the channels sent up from stage l to stage l−1 (n_up = (v // 8)·4) and the latent channels of each scale.
/// </summary>
public sealed class UFlowPlan
{
    private UFlowPlan(int[] stageChannels, int[] upChannels, int[] latentChannels, int[] upsamplings)
    {
        StageChannels = stageChannels;
        UpChannels = upChannels;
        LatentChannels = latentChannels;
        Upsamplings = upsamplings;
    }

    /// <summary>Channels of stage l (features plus what arrives from the coarser scale).</summary>
    public IReadOnlyList<int> StageChannels { get; }

    /// <summary>n_up of stage l: its first channels that are upsampled into stage l−1 (0 for the finest stage).</summary>
    public IReadOnlyList<int> UpChannels { get; }

    /// <summary>Channels of the latent z_l.</summary>
    public IReadOnlyList<int> LatentChannels { get; }

    /// <summary>How many 2× invertible upsamplings connect stage l to stage l−1 (1 for adjacent scales; 0 for the finest).</summary>
    public IReadOnlyList<int> Upsamplings { get; }

    internal static UFlowPlan Create(UFlowConfig config)
    {
        var scales = config.Scales;
        int levels = scales.Count;
        if (config.FlowSteps < 1) throw new ArgumentException($"FlowSteps must be at least 1; got {config.FlowSteps}.", nameof(config));
        for (int l = 0; l < levels; l++)
        {
            if (scales[l].Channels < 1 || scales[l].Height < 1 || scales[l].Width < 1)
            {
                throw new ArgumentException($"Scale {l} ({scales[l]}) must have positive channels and size.", nameof(config));
            }
        }
        int[] stage = new int[levels], up = new int[levels], latent = new int[levels], ups = new int[levels];
        stage[levels - 1] = scales[levels - 1].Channels;
        for (int l = levels - 1; l >= 1; l--)
        {
            FlowScale fine = scales[l - 1], coarse = scales[l];
            int ratio = fine.Height / coarse.Height;
            int k = 0;
            while ((1 << k) < ratio) k++;
            if (ratio < 2 || (1 << k) != ratio || fine.Height != coarse.Height * ratio || fine.Width != coarse.Width * ratio)
            {
                throw new ArgumentException($"Scale {l - 1} ({fine}) must be a power-of-two multiple (≥ 2×) of scale {l} ({coarse}) in both height and width.", nameof(config));
            }
            int v = stage[l];
            int nUp = v / 8 * 4;
            int divisor = 1 << (2 * k);
            if (nUp == 0 || nUp % divisor != 0)
            {
                throw new ArgumentException($"Stage {l} has {v} channels: n_up = (v // 8)·4 = {nUp} cannot be upsampled {ratio}× (needs a positive multiple of {divisor}).", nameof(config));
            }
            up[l] = nUp;
            ups[l] = k;
            latent[l] = v - nUp;
            stage[l - 1] = fine.Channels + nUp / divisor;
        }
        latent[0] = stage[0];
        for (int l = 0; l < levels; l++)
        {
            if (stage[l] < 2) throw new ArgumentException($"Stage {l} would have {stage[l]} channel(s); a flow step needs at least 2.", nameof(config));
        }
        return new UFlowPlan(stage, up, latent, ups);
    }
}
