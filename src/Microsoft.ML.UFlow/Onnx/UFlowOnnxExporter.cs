using System.Globalization;
using Microsoft.ML.UFlow.Flows;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Exports a fitted U-Flow (METHOD.md A.3) with its anomaly map and image score (A.6) as an ONNX graph (opset 17) that
/// ONNX Runtime, and so ML.NET's <c>OnnxTransformer</c>, runs without libtorch.
/// </summary>
/// <remarks>
/// <para>
/// <b>Inputs</b> (<see cref="FlowOnnxExportOptions.InputLayout"/>): by default one float32 input <c>Features</c> [N, total],
/// total = Σ_l C_l·H_l·W_l, holding each scale's [C, H, W] map flattened row-major, scales concatenated finest first;
/// or one input per scale, <c>Features0</c>, <c>Features1</c>, … [N, C_l, H_l, W_l].
/// </para>
/// <para>
/// <b>Outputs</b>: <c>Latent0</c> … <c>Latent{L−1}</c> (z_l, finest first, [N, C, H, W], shapes in
/// <see cref="UFlowPlan.LatentChannels"/>); <c>AnomalyMap</c> [N, H_map, W_map] (<see cref="Scoring.MapGrid"/>: S×S for a square input, the input's aspect otherwise): A = 1 − (1/L)·Σ_l bilinear_S(exp(−0.5·mean_c z_l²)),
/// with bilinear upsampling in PyTorch's align_corners = False convention (ONNX Resize, linear,
/// <c>pytorch_half_pixel</c>), the same as version 1's <c>Scoring.AnomalyMap</c>; <c>Score</c> [N] = max over the map, the
/// image score of version 1's <c>AnomalyScoreTransformer</c>; and, when a threshold is given, <c>PredictedLabel</c> [N]
/// = Score &gt; threshold.
/// </para>
/// <para>
/// <b>State dictionary</b> (parameter names of the flow; every entry must be used, shapes must match):
/// <c>stage{l}.step{s}.subnet.0.weight</c> [hidden, C1, k, k] and <c>.bias</c> [hidden];
/// <c>stage{l}.step{s}.subnet.2.weight</c> [2·C2, hidden, k, k] and <c>.bias</c> [2·C2];
/// <c>stage{l}.step{s}.global_scale</c> [C] (raw g; the applied scale is 0.1·softplus_{β=0.5}(g), computed at export in
/// double with PyTorch's threshold 20, as version 1 does); <c>stage{l}.step{s}.global_offset</c> [C];
/// <c>stage{l}.step{s}.perm</c> [C], the fixed channel permutation as float indices with out[:, c] = v[:, perm[c]] (v the
/// global-affine output; the same semantics as version 1's <c>FlowStep.Permutation</c>, checked by the parity tests);
/// and with the feature LayerNorm, <c>layernorm{l}.weight</c> and <c>.bias</c> [C_l, H_l, W_l]. Here l = 0 is the finest
/// scale, C the stage's channels, C1 = ⌈C/2⌉, C2 = ⌊C/2⌋, hidden = int(C1·ratio), k = 3 on even steps and 1 on odd ones.
/// </para>
/// </remarks>
public static class UFlowOnnxExporter
{
    /// <summary>FrEIA's fixed factor on the subnet output (METHOD.md A.3.3).</summary>
    private const float SubnetOutputScale = 0.1f;

    /// <summary>PyTorch <c>nn.LayerNorm</c>'s default epsilon (A.2.2).</summary>
    private const float LayerNormEpsilon = 1e-5f;

    /// <summary>Exports the flow described by <paramref name="config"/> with the parameters in <paramref name="state"/>.</summary>
    /// <param name="config">The architecture (scales finest first, steps, ratio, clamp, LayerNorm).</param>
    /// <param name="state">Parameter name → tensor, as listed in the remarks.</param>
    /// <param name="options">Map size, threshold, input layout, extra metadata (null: defaults).</param>
    /// <returns>The ONNX model's bytes (the same for the same arguments).</returns>
    /// <exception cref="ArgumentException">The configuration is invalid, or an entry of <paramref name="state"/> is missing,
    /// misshaped, not finite, not a permutation, or not used (the message names it and the expected shape).</exception>
    public static byte[] Export(UFlowConfig config, IReadOnlyDictionary<string, StateTensor> state, FlowOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(state);
        options ??= new FlowOnnxExportOptions();
        options.Validate();
        UFlowPlan plan = config.Plan();
        var reader = new StateDictionaryReader(state, "U-Flow");
        var b = new OnnxGraphBuilder("uflow");
        IReadOnlyList<FlowScale> scales = config.Scales;
        int levels = scales.Count;

        string[] x = FlowGraphParts.AddFeatureInputs(b, scales, options, out string[] inputNames);
        if (config.FeatureLayerNorm)
        {
            for (int l = 0; l < levels; l++)
            {
                FlowScale s = scales[l];
                string weight = Initializer(b, reader, $"layernorm{l}.weight", s.Channels, s.Height, s.Width);
                string bias = Initializer(b, reader, $"layernorm{l}.bias", s.Channels, s.Height, s.Width);
                x[l] = b.AddNode("LayerNormalization", [x[l], weight, bias], $"layernorm{l}",
                    OnnxAttributes.Int("axis", 1), OnnxAttributes.Float("epsilon", LayerNormEpsilon));
            }
        }

        // A.3.1: the coarsest stage first; each coarser stage sends its first n_up channels up, the rest is its latent.
        var latents = new string[levels];
        // The finest stage's last step writes Latent0 directly.
        string h = Stage(b, reader, config, plan, levels - 1, x[levels - 1], levels == 1 ? FlowGraphNames.Latent(0) : null);
        for (int l = levels - 1; l >= 1; l--)
        {
            int v = plan.StageChannels[l], nUp = plan.UpChannels[l];
            string[] split = FlowGraphParts.SplitChannels(b, h, nUp, v - nUp, $"stage{l}.up", FlowGraphNames.Latent(l));
            latents[l] = split[1];
            string up = split[0];
            for (int i = 0; i < plan.Upsamplings[l]; i++)
            {
                // A.3.2: IRevNetUpsampling = PixelShuffle(2) ordering = DepthToSpace in CRD mode.
                up = b.AddNode("DepthToSpace", [up], $"stage{l}.upsampled", OnnxAttributes.Int("blocksize", 2), OnnxAttributes.String("mode", "CRD"));
            }
            string concat = b.AddNode("Concat", [x[l - 1], up], $"stage{l - 1}.input", OnnxAttributes.Int("axis", 1));
            h = Stage(b, reader, config, plan, l - 1, concat, l == 1 ? FlowGraphNames.Latent(0) : null);
        }
        latents[0] = h;
        reader.EnsureAllUsed();

        var latentShapes = new FlowScale[levels];
        for (int l = 0; l < levels; l++)
        {
            latentShapes[l] = new FlowScale(plan.LatentChannels[l], scales[l].Height, scales[l].Width);
            b.AddOutput(latents[l], TensorProto.Types.DataType.Float, -1, latentShapes[l].Channels, latentShapes[l].Height, latentShapes[l].Width);
        }

        // A.6: p_l = exp(−0.5·mean_c z²) per scale, upsampled, A = 1 − mean_l P_l, score = max A.
        var (mapHeight, mapWidth) = FlowGraphParts.MapGridOf(options.MapSize, latentShapes);
        string sizes = FlowGraphParts.MapSizes(b, latents[0], mapHeight, mapWidth);
        string? sum = null;
        for (int l = 0; l < levels; l++)
        {
            string squares = b.AddNode("ReduceSumSquare", [latents[l]], $"scale{l}.sum_z2", OnnxAttributes.Ints("axes", 1), OnnxAttributes.Int("keepdims", 1));
            string logP = b.AddNode("Mul", [squares, b.Scalar(-0.5f / latentShapes[l].Channels)], $"scale{l}.log_p");
            string p = b.AddNode("Exp", [logP], $"scale{l}.p");
            string resized = FlowGraphParts.ResizeBilinear(b, p, sizes, $"scale{l}.p_resized");
            sum = sum is null ? resized : b.AddNode("Add", [sum, resized], $"scale{l}.p_sum");
        }
        string scaled = b.AddNode("Mul", [sum!, b.Scalar(-(1f / levels))], "map_scaled");
        string map4 = b.AddNode("Add", [scaled, b.Scalar(1f)], "map_nchw");
        string map = FlowGraphParts.AddMapOutput(b, map4, mapHeight, mapWidth);
        string score = b.AddNode("ReduceMax", [map], FlowGraphNames.Score, OnnxAttributes.Ints("axes", 1, 2), OnnxAttributes.Int("keepdims", 0));
        FlowGraphParts.AddScoreOutputs(b, score, options.Threshold);

        FlowGraphParts.AddMetadata(b, FlowModelFacts.UFlowMethod, scales, latentShapes, options, inputNames,
        [
            (FlowMetadataKeys.FlowSteps, config.FlowSteps.ToString(CultureInfo.InvariantCulture)),
            (FlowMetadataKeys.SubnetChannelsRatio, FlowGraphParts.FormatDouble(config.SubnetChannelsRatio)),
            (FlowMetadataKeys.Clamp, FlowGraphParts.FormatFloat(config.AffineClamp)),
            (FlowMetadataKeys.FeatureLayerNorm, config.FeatureLayerNorm ? "true" : "false"),
        ]);
        return FlowGraphParts.Serialize(b);
    }

    /// <summary>The applied global scale 0.1·softplus_{β=0.5}(g), linear above β·g = 20 (PyTorch's threshold), in double.</summary>
    internal static double GlobalScale(double g) => 0.5 * g > 20.0 ? 0.1 * g : 0.2 * Math.Log(1.0 + Math.Exp(0.5 * g));

    // The stage's steps; the last one's output gets outputName when given (the finest stage writes Latent0 directly).
    private static string Stage(OnnxGraphBuilder b, StateDictionaryReader reader, UFlowConfig config, UFlowPlan plan, int l, string x, string? outputName = null)
    {
        for (int s = 0; s < config.FlowSteps; s++)
        {
            string name = $"stage{l}.step{s}";
            x = Step(b, reader, config, plan.StageChannels[l], UFlowConfig.KernelOfStep(s), name, x, s == config.FlowSteps - 1 ? outputName ?? name : name);
        }
        return x;
    }

    // A.3.3 / A.3.4: coupling on the last C2 channels, then the global affine, then the permutation.
    private static string Step(OnnxGraphBuilder b, StateDictionaryReader reader, UFlowConfig config, int c, int k, string name, string x, string outputName)
    {
        int c1 = c - c / 2, c2 = c / 2, hidden = (int)(c1 * config.SubnetChannelsRatio);
        if (hidden < 1) throw new ArgumentException($"Step '{name}' would have no hidden channels (C1 = {c1}, ratio {config.SubnetChannelsRatio}).", nameof(config));
        string w1 = Initializer(b, reader, name + ".subnet.0.weight", hidden, c1, k, k);
        string b1 = Initializer(b, reader, name + ".subnet.0.bias", hidden);
        // FrEIA's 0.1 on the subnet output, 0.1·(W·h + b), is folded into the last convolution as (0.1·W)·h + 0.1·b.
        string w2 = ScaledInitializer(b, reader, name + ".subnet.2.weight", SubnetOutputScale, 2 * c2, hidden, k, k);
        string b2 = ScaledInitializer(b, reader, name + ".subnet.2.bias", SubnetOutputScale, 2 * c2);
        float[] g = reader.Take(name + ".global_scale", c);
        float[] offset = reader.Take(name + ".global_offset", c);
        long[] perm = reader.TakePermutation(name + ".perm", c);

        string[] halves = FlowGraphParts.SplitChannels(b, x, c1, c2, name + ".x1", name + ".x2");
        string x1 = halves[0], x2 = halves[1];
        string conv1 = Conv(b, x1, w1, b1, k, name + ".subnet.0");
        string relu = b.AddNode("Relu", [conv1], name + ".subnet.1");
        string a = Conv(b, relu, w2, b2, k, name + ".subnet.2");
        string[] st = FlowGraphParts.SplitChannels(b, a, c2, c2, name + ".s", name + ".t");
        string tanh = b.AddNode("Tanh", [st[0]], name + ".tanh");
        string j = b.AddNode("Mul", [tanh, b.Scalar(config.AffineClamp)], name + ".j");
        string expJ = b.AddNode("Exp", [j], name + ".exp_j");
        string x2Scaled = b.AddNode("Mul", [x2, expJ], name + ".x2_exp_j");
        string y2 = b.AddNode("Add", [x2Scaled, st[1]], name + ".y2");
        string u = b.AddNode("Concat", [x1, y2], name + ".coupled", OnnxAttributes.Int("axis", 1));

        // out[:, i] = (u·scale + offset)[:, π(i)] = u[:, π(i)]·scale[π(i)] + offset[π(i)]: gather first, then the permuted affine.
        var scale = new float[c];
        var shift = new float[c];
        for (int i = 0; i < c; i++)
        {
            scale[i] = (float)GlobalScale(g[perm[i]]);
            shift[i] = offset[perm[i]];
        }
        string permutation = b.AddInt64Initializer(name + ".perm", perm, c);
        string gathered = b.AddNode("Gather", [u, permutation], name + ".permuted", OnnxAttributes.Int("axis", 1));
        string scaled = b.AddNode("Mul", [gathered, b.AddInitializer(name + ".global_scale_permuted", scale, 1, c, 1, 1)], name + ".scaled");
        return b.AddNode("Add", [scaled, b.AddInitializer(name + ".global_offset_permuted", shift, 1, c, 1, 1)], outputName);
    }

    private static string Initializer(OnnxGraphBuilder b, StateDictionaryReader reader, string name, params int[] shape)
        => b.AddInitializer(name, reader.Take(name, shape), shape.Select(d => (long)d).ToArray());

    private static string ScaledInitializer(OnnxGraphBuilder b, StateDictionaryReader reader, string name, float factor, params int[] shape)
    {
        float[] values = reader.Take(name, shape);
        var scaled = new float[values.Length];
        for (int i = 0; i < values.Length; i++) scaled[i] = values[i] * factor;
        return b.AddInitializer(name + ".scaled", scaled, shape.Select(d => (long)d).ToArray());
    }

    private static string Conv(OnnxGraphBuilder b, string x, string weight, string bias, int k, string hint)
    {
        long p = k / 2;
        return b.AddNode("Conv", [x, weight, bias], hint,
            OnnxAttributes.Ints("kernel_shape", k, k), OnnxAttributes.Ints("pads", p, p, p, p), OnnxAttributes.Ints("strides", 1, 1));
    }
}
