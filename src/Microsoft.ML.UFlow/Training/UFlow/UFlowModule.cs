using Microsoft.ML.UFlow.Flows;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// U-Flow's U-shaped normalizing flow on TorchSharp (METHOD.md A.3.1): optionally a whole-map LayerNorm per feature scale
/// (A.2.2), a <see cref="FlowStageModule"/> per scale run from the coarsest down; after each stage but the finest, its
/// first n_up = (v // 8)·4 channels are invertibly upsampled (<see cref="InvertibleUpsamplingModule"/>) and concatenated
/// after the next finer scale's features, the remaining channels become that scale's latent.
/// </summary>
/// <remarks>
/// <para>Children: <c>layernorm{l}</c> (PyTorch <c>nn.LayerNorm([C, H, W])</c>, only when
/// <see cref="UFlowConfig.FeatureLayerNorm"/>), <c>stage{l}</c> with <c>step{s}</c>, <c>upsample{l}</c> (no parameters);
/// l = 0 is the finest scale. Parameter and buffer names therefore equal v1's (<c>UShapedFlow</c>):
/// <c>stage{l}.step{s}.subnet.0.weight</c>, <c>….subnet.0.bias</c>, <c>….subnet.2.weight</c>, <c>….subnet.2.bias</c>,
/// <c>….global_scale</c>, <c>….global_offset</c>, <c>layernorm{l}.weight</c>, <c>layernorm{l}.bias</c>, plus the
/// buffer <c>stage{l}.step{s}.perm</c> (int64). Shapes equal v1's too (global scale and offset are vectors of length C).</para>
/// <para>Initialisation is reproducible: a CPU <c>torch.Generator</c> seeded with <see cref="UFlowConfig.Seed"/> draws,
/// stage by stage from the coarsest and step by step, the subnet weights and biases (PyTorch's Conv2d default) and the
/// permutation (<c>randperm</c>); the module is then moved to the device. The draws differ from v1's managed flow of the
/// same seed.</para>
/// <para>Dispose the module to free its native tensors. Not thread-safe.</para>
/// </remarks>
internal sealed class UFlowModule : nn.Module<IReadOnlyList<Tensor>, (Tensor[] Latents, Tensor LogDet)>
{
    /// <summary>The feature LayerNorm's ε: PyTorch <c>nn.LayerNorm</c>'s default (A.2.2).</summary>
    public const double LayerNormEpsilon = 1e-5;

    private readonly FlowStageModule[] _stages;
    private readonly LayerNorm?[] _layerNorms;
    private readonly InvertibleUpsamplingModule?[] _upsamplings;

    /// <summary>Builds the flow for <paramref name="config"/> on <paramref name="device"/> (default the CPU).</summary>
    /// <exception cref="ArgumentException">The configuration's scales do not form a valid U graph (<see cref="UFlowConfig.Plan"/>).</exception>
    public UFlowModule(UFlowConfig config, Device? device = null)
        : base(LoadedName("UFlow"))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Plan = config.Plan();
        int levels = config.Scales.Count;
        _stages = new FlowStageModule[levels];
        _layerNorms = new LayerNorm?[levels];
        _upsamplings = new InvertibleUpsamplingModule?[levels];
        using (var generator = new Generator(config.Seed))
        {
            // Drawn coarsest first, as the graph runs (and as v1 builds it).
            for (int l = levels - 1; l >= 0; l--)
            {
                var steps = new FlowStepModule[config.FlowSteps];
                for (int s = 0; s < steps.Length; s++)
                {
                    steps[s] = new FlowStepModule(Plan.StageChannels[l], UFlowConfig.KernelOfStep(s), generator, config.SubnetChannelsRatio, config.AffineClamp, $"stage{l}.step{s}");
                }
                _stages[l] = new FlowStageModule(steps, $"stage{l}");
            }
        }
        // Registered finest first, each scale's LayerNorm before its steps: the order of v1's Parameters.
        for (int l = 0; l < levels; l++)
        {
            FlowScale scale = config.Scales[l];
            if (config.FeatureLayerNorm)
            {
                _layerNorms[l] = nn.LayerNorm([scale.Channels, scale.Height, scale.Width], eps: LayerNormEpsilon);
                register_module($"layernorm{l}", _layerNorms[l]!);
            }
            register_module($"stage{l}", _stages[l]);
            if (Plan.Upsamplings[l] > 0)
            {
                _upsamplings[l] = new InvertibleUpsamplingModule(Plan.Upsamplings[l], $"upsample{l}");
                register_module($"upsample{l}", _upsamplings[l]!);
            }
        }
        RegisterComponents();
        Device = device ?? CPU;
        if (Device.type != DeviceType.CPU) this.to(Device);
    }

    /// <summary>The architecture.</summary>
    public UFlowConfig Config { get; }

    /// <summary>The channel plan of the U graph.</summary>
    public UFlowPlan Plan { get; }

    /// <summary>The device the parameters live on.</summary>
    public Device Device { get; }

    /// <summary>Number of scales L.</summary>
    public int ScaleCount => _stages.Length;

    /// <summary>The stage of scale l (index 0 = finest).</summary>
    public FlowStageModule Stage(int scale) => _stages[scale];

    /// <summary>The feature LayerNorm of scale l, or null when disabled.</summary>
    public LayerNorm? LayerNorm(int scale) => _layerNorms[scale];

    /// <summary>The number of trainable values (equals <see cref="UFlowConfig.CountTrainableParameters"/>).</summary>
    public long TrainableParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Runs the flow on one feature batch per scale (finest first, N×C_l×H_l×W_l, on <see cref="Device"/>). Returns the
    /// latents z_l (finest first; z_l for l ≥ 1 are channel views of the stage outputs) and the per-sample log|det J|
    /// summed over every step (A.3.5).
    /// </summary>
    public override (Tensor[] Latents, Tensor LogDet) forward(IReadOnlyList<Tensor> features)
    {
        CheckFeatures(features);
        using var scope = NewDisposeScope();
        int levels = ScaleCount;
        var inputs = new Tensor[levels];
        for (int l = 0; l < levels; l++) inputs[l] = _layerNorms[l] is { } ln ? ln.call(features[l]) : features[l];
        var latents = new Tensor[levels];
        (Tensor h, Tensor logDet) = _stages[levels - 1].call(inputs[levels - 1]);
        for (int l = levels - 1; l >= 1; l--)
        {
            int v = Plan.StageChannels[l], nUp = Plan.UpChannels[l];
            Tensor[] parts = h.split([nUp, v - nUp], 1); // one view pair, one concatenation in backward
            latents[l] = parts[1];
            Tensor up = _upsamplings[l]!.call(parts[0]);
            (h, Tensor stageLogDet) = _stages[l - 1].call(cat([inputs[l - 1], up], 1));
            logDet = logDet.Plus(stageLogDet);
        }
        latents[0] = h;
        scope.MoveToOuter(latents);
        return (latents, scope.MoveToOuter(logDet));
    }

    /// <summary>
    /// Maps latents (finest first) back to the flow's inputs: the features, or the LayerNorm outputs when the feature
    /// LayerNorm is on (the LayerNorm is not inverted). Also returns the forward log-det recomputed on the way.
    /// </summary>
    public (Tensor[] Inputs, Tensor LogDet) inverse(IReadOnlyList<Tensor> latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        int levels = ScaleCount;
        if (latents.Count != levels) throw new ArgumentException($"Expected {levels} latents; got {latents.Count}.", nameof(latents));
        using var scope = NewDisposeScope();
        var inputs = new Tensor[levels];
        Tensor h = latents[0];
        Tensor? logDet = null;
        for (int l = 0; l < levels; l++)
        {
            (Tensor stageIn, Tensor stageLogDet) = _stages[l].inverse(h);
            logDet = logDet is null ? stageLogDet : logDet.Plus(stageLogDet);
            int features = Config.Scales[l].Channels;
            inputs[l] = stageIn.narrow(1, 0, features);
            if (l == levels - 1) break;
            Tensor down = _upsamplings[l + 1]!.inverse(stageIn.narrow(1, features, stageIn.shape[1] - features));
            h = cat([down, latents[l + 1]], 1);
        }
        scope.MoveToOuter(inputs);
        return (inputs, scope.MoveToOuter(logDet!));
    }

    // The base constructor is the first call into libtorch: load it through TorchRuntime first (clear errors, OpenMP policy).
    private static string LoadedName(string name)
    {
        TorchRuntime.EnsureLoaded();
        return name;
    }

    private void CheckFeatures(IReadOnlyList<Tensor> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Count != ScaleCount) throw new ArgumentException($"The flow has {ScaleCount} scales but {features.Count} feature tensors were given.", nameof(features));
        long n = features[0].ndim == 4 ? features[0].shape[0] : -1;
        for (int l = 0; l < ScaleCount; l++)
        {
            FlowScale s = Config.Scales[l];
            long[] shape = features[l].shape;
            if (shape.Length != 4 || shape[0] != n || shape[1] != s.Channels || shape[2] != s.Height || shape[3] != s.Width)
            {
                throw new ArgumentException($"features[{l}] must be [{n}, {s.Channels}, {s.Height}, {s.Width}]; got [{string.Join(", ", shape)}].", nameof(features));
            }
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (FlowStageModule stage in _stages) stage.Dispose();
            foreach (LayerNorm? ln in _layerNorms) ln?.Dispose();
            foreach (InvertibleUpsamplingModule? up in _upsamplings) up?.Dispose();
        }
        base.Dispose(disposing);
    }
}
