using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// U-Flow's U-shaped normalizing flow (METHOD.md A.3.1): a stage of flow steps per scale, run from the coarsest scale
/// down; after each stage but the finest, the first (v // 8)·4 channels are invertibly upsampled and concatenated after the
/// next finer scale's features, the rest become that scale's latent. Latents are returned finest first with the
/// per-sample log-determinant summed over all steps.
/// </summary>
/// <remarks>
/// Training stores the activations of every step (no recomputation): memory is about four times the flow's tensors
/// per step, small for these sizes. Tensors returned by <see cref="Forward"/>, <see cref="Inverse"/> are owned by the flow
/// and reused on the next call. Not thread-safe. <see cref="Inverse"/> reuses the subnet buffers, so it must not run
/// between a <see cref="Forward"/> and its <see cref="Backward"/>.
/// </remarks>
public sealed class UShapedFlow
{
    private readonly FlowStep[][] _stages;
    private readonly FeatureLayerNorm?[] _layerNorms;
    private readonly Tensor[] _stageInputs;     // concat buffers (index l < L−1); coarsest stage reads its features directly
    private readonly Tensor[] _latents;
    private readonly Tensor[][] _upTemps;      // intermediate maps for multi-factor upsampling
    private readonly Tensor[] _gradHidden;     // ∂L/∂h_l for l ≥ 1
    private readonly Tensor[] _inverseHidden;
    private readonly Tensor[] _inverseFeatures;
    private readonly Tensor[] _flowInputs;
    private readonly Tensor[] _gradFeatures;
    private readonly Tensor _logDet = new(1);
    private float[] _stepGradLogDet = [];

    /// <summary>Builds the flow with PyTorch-default subnet initialisation and permutations drawn from <see cref="UFlowConfig.Seed"/>.</summary>
    public UFlowConfig Config { get; }

    /// <summary>The channel plan.</summary>
    public UFlowPlan Plan { get; }

    /// <summary>Creates the flow for <paramref name="config"/>.</summary>
    public UShapedFlow(UFlowConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Plan = config.Plan();
        int levels = config.Scales.Count;
        var random = new SeededRandom(config.Seed);
        _stages = new FlowStep[levels][];
        // Built coarsest first, as the graph runs.
        for (int l = levels - 1; l >= 0; l--)
        {
            _stages[l] = new FlowStep[config.FlowSteps];
            for (int s = 0; s < config.FlowSteps; s++)
            {
                _stages[l][s] = new FlowStep(Plan.StageChannels[l], UFlowConfig.KernelOfStep(s), random, config.SubnetChannelsRatio, config.AffineClamp, $"stage{l}.step{s}");
            }
        }
        _layerNorms = new FeatureLayerNorm?[levels];
        if (config.FeatureLayerNorm)
        {
            for (int l = 0; l < levels; l++) _layerNorms[l] = new FeatureLayerNorm(config.Scales[l], $"layernorm{l}");
        }
        _stageInputs = NewTensors(levels);
        _latents = NewTensors(levels);
        _gradHidden = NewTensors(levels);
        _inverseHidden = NewTensors(levels);
        _inverseFeatures = NewTensors(levels);
        _flowInputs = new Tensor[levels];
        _gradFeatures = NewTensors(levels);
        _upTemps = new Tensor[levels][];
        for (int l = 0; l < levels; l++) _upTemps[l] = NewTensors(Math.Max(0, Plan.Upsamplings[l] - 1));
        var parameters = new List<Parameter>();
        for (int l = 0; l < levels; l++)
        {
            if (_layerNorms[l] is { } ln) parameters.AddRange(ln.Parameters);
            foreach (FlowStep step in _stages[l]) parameters.AddRange(step.Parameters);
        }
        Parameters = parameters;
    }

    /// <summary>Every trainable parameter, in a fixed order (per scale, finest first: LayerNorm, then steps).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The flow steps of scale l (index 0 = finest).</summary>
    public IReadOnlyList<FlowStep> Stage(int scale) => _stages[scale];

    /// <summary>The feature LayerNorm of scale l, or null when disabled.</summary>
    public FeatureLayerNorm? LayerNorm(int scale) => _layerNorms[scale];

    /// <summary>Number of scales L.</summary>
    public int ScaleCount => _stages.Length;

    /// <summary>The total number of trainable values.</summary>
    public long TrainableParameterCount => Parameters.Sum(p => (long)p.Value.Length);

    /// <summary>
    /// Runs the flow on one feature batch per scale (finest first, shapes N×C_l×H_l×W_l). Returns the latents
    /// (finest first) and the per-sample log|det J|, both owned by the flow.
    /// </summary>
    public FlowOutput Forward(IReadOnlyList<Tensor> features)
    {
        CheckFeatures(features);
        int levels = ScaleCount, n = features[0].N;
        Span<float> logDet = _logDet.EnsureShape(n).Span;
        logDet.Clear();
        for (int l = 0; l < levels; l++) _flowInputs[l] = _layerNorms[l] is { } ln ? ln.Forward(features[l]) : features[l];

        Tensor h = RunStage(levels - 1, _flowInputs[levels - 1], logDet);
        for (int l = levels - 1; l >= 1; l--)
        {
            int v = Plan.StageChannels[l], nUp = Plan.UpChannels[l];
            FlowScale fine = Config.Scales[l - 1];
            Tensor z = _latents[l].EnsureShape(n, v - nUp, h.H, h.W);
            ChannelOps.Copy(h, nUp, z, 0, v - nUp);
            Tensor concat = _stageInputs[l - 1].EnsureShape(n, Plan.StageChannels[l - 1], fine.Height, fine.Width);
            ChannelOps.Copy(_flowInputs[l - 1], 0, concat, 0, fine.Channels);
            Upsample(l, h, concat, fine.Channels);
            h = RunStage(l - 1, concat, logDet);
        }
        _latents[0] = h;
        return new FlowOutput(_latents, _logDet);
    }

    /// <summary>
    /// Back-propagates ∂L/∂z_l (finest first) and ∂L/∂logdet (per sample) of the last <see cref="Forward"/>,
    /// accumulating into every parameter's gradient.
    /// </summary>
    public void Backward(IReadOnlyList<Tensor> gradLatents, ReadOnlySpan<float> gradLogDet)
    {
        ArgumentNullException.ThrowIfNull(gradLatents);
        int levels = ScaleCount;
        if (gradLatents.Count != levels) throw new ArgumentException($"Expected {levels} latent gradients; got {gradLatents.Count}.", nameof(gradLatents));
        Tensor g = gradLatents[0];
        for (int l = 0; l < levels; l++)
        {
            bool coarsest = l == levels - 1;
            Tensor? gIn = BackwardStage(l, g, gradLogDet, needInputGradient: !coarsest || _layerNorms[l] is not null);
            if (coarsest)
            {
                _layerNorms[l]?.Backward(gIn!);
                break;
            }
            FlowScale fine = Config.Scales[l];
            if (_layerNorms[l] is { } ln)
            {
                Tensor gFeatures = _gradFeatures[l].EnsureShape(gIn!.N, fine.Channels, fine.Height, fine.Width);
                ChannelOps.Copy(gIn, 0, gFeatures, 0, fine.Channels);
                ln.Backward(gFeatures);
            }
            int v = Plan.StageChannels[l + 1], nUp = Plan.UpChannels[l + 1];
            Tensor gz = gradLatents[l + 1];
            Tensor gh = _gradHidden[l + 1].EnsureShape(gIn!.N, v, gz.H, gz.W);
            Downsample(l + 1, gIn, fine.Channels, gh);
            ChannelOps.Copy(gz, 0, gh, nUp, v - nUp);
            g = gh;
        }
    }

    /// <summary>
    /// Maps latents (finest first) back to the flow's inputs: the features, or the LayerNorm outputs when the feature
    /// LayerNorm is enabled (the LayerNorm itself is not invertible). The tensors are owned by the flow.
    /// </summary>
    public IReadOnlyList<Tensor> Inverse(IReadOnlyList<Tensor> latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        int levels = ScaleCount;
        if (latents.Count != levels) throw new ArgumentException($"Expected {levels} latents; got {latents.Count}.", nameof(latents));
        Tensor h = latents[0];
        for (int l = 0; l < levels; l++)
        {
            Tensor stageIn = InverseStage(l, h);
            FlowScale scale = Config.Scales[l];
            Tensor x = _inverseFeatures[l].EnsureShape(stageIn.N, scale.Channels, scale.Height, scale.Width);
            ChannelOps.Copy(stageIn, 0, x, 0, scale.Channels);
            if (l == levels - 1) break;
            int v = Plan.StageChannels[l + 1], nUp = Plan.UpChannels[l + 1];
            Tensor z = latents[l + 1];
            z.CheckShape($"latents[{l + 1}]", stageIn.N, v - nUp, Config.Scales[l + 1].Height, Config.Scales[l + 1].Width);
            Tensor hc = _inverseHidden[l + 1].EnsureShape(stageIn.N, v, z.H, z.W);
            Downsample(l + 1, stageIn, scale.Channels, hc);
            ChannelOps.Copy(z, 0, hc, nUp, v - nUp);
            h = hc;
        }
        return _inverseFeatures;
    }

    private Tensor RunStage(int l, Tensor input, Span<float> logDet)
    {
        Tensor x = input;
        foreach (FlowStep step in _stages[l]) x = step.Forward(x, logDet);
        return x;
    }

    private Tensor? BackwardStage(int l, Tensor gradOutput, ReadOnlySpan<float> gradLogDet, bool needInputGradient)
    {
        if (_stepGradLogDet.Length != gradLogDet.Length) _stepGradLogDet = new float[gradLogDet.Length];
        gradLogDet.CopyTo(_stepGradLogDet);
        Tensor? g = gradOutput;
        FlowStep[] steps = _stages[l];
        for (int s = steps.Length - 1; s >= 0; s--)
        {
            g = steps[s].Backward(g!, _stepGradLogDet, needInputGradient: s > 0 || needInputGradient);
        }
        return g;
    }

    private Tensor InverseStage(int l, Tensor output)
    {
        Tensor x = output;
        FlowStep[] steps = _stages[l];
        for (int s = steps.Length - 1; s >= 0; s--) x = steps[s].Inverse(x);
        return x;
    }

    // Upsamples the first n_up channels of h_l (k times 2×) into concat channels [start, ...).
    private void Upsample(int l, Tensor h, Tensor concat, int start)
    {
        int k = Plan.Upsamplings[l], channels = Plan.UpChannels[l];
        Tensor source = h;
        int sourceStart = 0;
        for (int i = 0; i < k - 1; i++)
        {
            Tensor tmp = _upTemps[l][i].EnsureShape(h.N, channels / 4, source.H * 2, source.W * 2);
            InvertibleUpsampling.Forward(source, sourceStart, channels, tmp, 0);
            source = tmp;
            sourceStart = 0;
            channels /= 4;
        }
        InvertibleUpsampling.Forward(source, sourceStart, channels, concat, start);
    }

    // The inverse of Upsample: channels [start, ...) of the fine map go back to the first n_up channels of h.
    private void Downsample(int l, Tensor fineMap, int start, Tensor h)
    {
        int k = Plan.Upsamplings[l], nUp = Plan.UpChannels[l];
        int channels = nUp >> (2 * k);
        Tensor source = fineMap;
        int sourceStart = start;
        for (int i = k - 2; i >= 0; i--)
        {
            Tensor tmp = _upTemps[l][i];
            tmp.EnsureShape(h.N, channels * 4, source.H / 2, source.W / 2);
            InvertibleUpsampling.Inverse(source, sourceStart, channels, tmp, 0);
            source = tmp;
            sourceStart = 0;
            channels *= 4;
        }
        InvertibleUpsampling.Inverse(source, sourceStart, channels, h, 0);
    }

    private void CheckFeatures(IReadOnlyList<Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Count != ScaleCount) throw new ArgumentException($"The flow has {ScaleCount} scales but {features.Count} feature tensors were given.", nameof(features));
        int n = features[0].N;
        for (int l = 0; l < ScaleCount; l++)
        {
            FlowScale s = Config.Scales[l];
            features[l].CheckShape($"features[{l}]", n, s.Channels, s.Height, s.Width);
        }
    }

    private static Tensor[] NewTensors(int count)
    {
        var result = new Tensor[count];
        for (int i = 0; i < count; i++) result[i] = new Tensor(1);
        return result;
    }
}
