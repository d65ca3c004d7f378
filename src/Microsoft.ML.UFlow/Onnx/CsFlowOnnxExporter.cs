using System.Globalization;
using Microsoft.ML.UFlow.Flows;
using Onnx;

namespace Microsoft.ML.UFlow.Onnx;

/// <summary>
/// Exports a fitted CS-Flow (METHOD.md C.2) with its image score and localisation map (C.4) as an ONNX graph (opset 17)
/// that ONNX Runtime, and so ML.NET's <c>OnnxTransformer</c>, runs without libtorch.
/// </summary>
/// <remarks>
/// <para>
/// <b>Inputs</b> (<see cref="FlowOnnxExportOptions.InputLayout"/>): by default one float32 input <c>Features</c> [N, total]
/// holding the three scales' maps [C, H, W], [C, H/2, W/2], [C, H/4, W/4] flattened row-major and concatenated finest
/// first; or <c>Features0</c>, <c>Features1</c>, <c>Features2</c> [N, C, H_s, W_s].
/// </para>
/// <para>
/// <b>Outputs</b>: <c>Latent0</c>, <c>Latent1</c>, <c>Latent2</c> (z of each scale, shapes as the inputs);
/// <c>Score</c> [N] = mean over all D = C·(HW + HW/4 + HW/16) latent values of z²/2 (no log-det), as version 1's
/// <c>CsFlowScoring.ImageScores</c>; <c>AnomalyMap</c> [N, H_map, W_map] = the finest latent's channel mean of z², bilinearly
/// upsampled (align_corners = False) to the map grid (<see cref="Scoring.MapGrid"/>: S×S for a square input), as <c>CsFlowScoring.LocalizationMap</c>; and, when a threshold is given,
/// <c>PredictedLabel</c> [N] = Score &gt; threshold.
/// </para>
/// <para>
/// <b>State dictionary</b>, per block k (C1 = ⌊C/2⌋, C2 = C − C1, hidden and kernel k_k from the options): for the
/// subnetwork <c>s2</c> (in C2, out 2·C1) and <c>s1</c> (in C1, out 2·C2), <c>block{k}.{sub}.conv_in{s}.weight</c>
/// [hidden, in, k, k] and <c>.bias</c> [hidden] (s = 0, 1, 2); <c>conv_out{s}</c>, <c>up_conv10</c>, <c>up_conv21</c>,
/// <c>down_conv01</c>, <c>down_conv12</c> with <c>.weight</c> [out, hidden, k, k] and <c>.bias</c> [out];
/// <c>block{k}.{sub}.gamma{s}</c> [1]; and the permutations <c>block{k}.perm{s}</c> [C] as float indices with
/// out_s[:, c] = in_s[:, perm[c]] (version 1's <c>ParallelPermute</c>, checked by the parity tests). Every entry must be
/// used and shapes must match.
/// </para>
/// </remarks>
public static class CsFlowOnnxExporter
{
    private const int ScaleCount = 3;

    /// <summary>The official code's literal in place of 2/π in the soft clamp (C.2).</summary>
    private const float TwoOverPi = 0.636f;

    /// <summary>The official code's clamp of every coupling output (C.2).</summary>
    private const float OutputClamp = 1e6f;

    /// <summary>The subnetworks' LeakyReLU slope (C.2).</summary>
    private const float LeakySlope = 0.1f;

    /// <summary>Exports the network described by <paramref name="network"/> for finest feature maps of <paramref name="featureHeight"/>×<paramref name="featureWidth"/>.</summary>
    /// <param name="network">The architecture (channels, hidden width, kernel sizes, α).</param>
    /// <param name="featureHeight">Height of the finest feature map (a multiple of 4: the scales halve exactly).</param>
    /// <param name="featureWidth">Width of the finest feature map (a multiple of 4).</param>
    /// <param name="state">Parameter name → tensor, as listed in the remarks.</param>
    /// <param name="options">Map size, threshold, input layout, extra metadata (null: defaults).</param>
    /// <returns>The ONNX model's bytes (the same for the same arguments).</returns>
    /// <exception cref="ArgumentException">The options or sizes are invalid, or an entry of <paramref name="state"/> is
    /// missing, misshaped, not finite, not a permutation, or not used (the message names it and the expected shape).</exception>
    public static byte[] Export(CsFlowNetworkOptions network, int featureHeight, int featureWidth, IReadOnlyDictionary<string, StateTensor> state, FlowOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(state);
        network.Validate();
        options ??= new FlowOnnxExportOptions();
        options.Validate();
        if (featureHeight < 4 || featureWidth < 4 || featureHeight % 4 != 0 || featureWidth % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(featureHeight), $"The finest feature map is {featureHeight}x{featureWidth}; CS-Flow needs both sides to be positive multiples of 4 so that the three scales halve exactly.");
        }
        int c = network.Channels;
        var scales = new FlowScale[ScaleCount];
        for (int s = 0; s < ScaleCount; s++) scales[s] = new FlowScale(c, featureHeight >> s, featureWidth >> s);

        var reader = new StateDictionaryReader(state, "CS-Flow");
        var b = new OnnxGraphBuilder("csflow");
        string[] x = FlowGraphParts.AddFeatureInputs(b, scales, options, out string[] inputNames);
        for (int k = 0; k < network.KernelSizes.Length; k++)
        {
            for (int s = 0; s < ScaleCount; s++)
            {
                long[] perm = reader.TakePermutation($"block{k}.perm{s}", c);
                string indices = b.AddInt64Initializer($"block{k}.perm{s}", perm, c);
                x[s] = b.AddNode("Gather", [x[s], indices], $"block{k}.permuted{s}", OnnxAttributes.Int("axis", 1));
            }
            // The last block writes the latents directly.
            x = Coupling(b, reader, network, k, x, k == network.KernelSizes.Length - 1);
        }
        reader.EnsureAllUsed();

        string[] latents = x;
        for (int s = 0; s < ScaleCount; s++) b.AddOutput(latents[s], TensorProto.Types.DataType.Float, -1, c, scales[s].Height, scales[s].Width);

        // C.4: the image score is the mean of z²/2 over all D latent values of the three scales.
        long d = scales.Sum(s => (long)s.Channels * s.Height * s.Width);
        string? total = null;
        for (int s = 0; s < ScaleCount; s++)
        {
            string sum = b.AddNode("ReduceSumSquare", [latents[s]], $"scale{s}.sum_z2", OnnxAttributes.Ints("axes", 1, 2, 3), OnnxAttributes.Int("keepdims", 0));
            total = total is null ? sum : b.AddNode("Add", [total, sum], $"scale{s}.sum_z2_total");
        }
        string score = b.AddNode("Mul", [total!, b.Scalar((float)(0.5 / d))], FlowGraphNames.Score);

        // C.4: localisation = channel mean of z² of the finest scale, upsampled bilinearly to the map grid (S×S when square).
        var (mapHeight, mapWidth) = FlowGraphParts.MapGridOf(options.MapSize, scales);
        string squares = b.AddNode("ReduceSumSquare", [latents[0]], "scale0.channel_sum_z2", OnnxAttributes.Ints("axes", 1), OnnxAttributes.Int("keepdims", 1));
        string mean = b.AddNode("Mul", [squares, b.Scalar(1f / c)], "scale0.channel_mean_z2");
        string map4 = FlowGraphParts.ResizeBilinear(b, mean, FlowGraphParts.MapSizes(b, latents[0], mapHeight, mapWidth), "map_nchw");
        FlowGraphParts.AddMapOutput(b, map4, mapHeight, mapWidth);
        FlowGraphParts.AddScoreOutputs(b, score, options.Threshold);

        FlowGraphParts.AddMetadata(b, FlowModelFacts.CsFlowMethod, scales, scales, options, inputNames,
        [
            (FlowMetadataKeys.HiddenChannels, network.HiddenChannels.ToString(CultureInfo.InvariantCulture)),
            (FlowMetadataKeys.KernelSizes, string.Join(";", network.KernelSizes.Select(v => v.ToString(CultureInfo.InvariantCulture)))),
            (FlowMetadataKeys.Clamp, FlowGraphParts.FormatFloat(network.Alpha)),
        ]);
        return FlowGraphParts.Serialize(b);
    }

    // C.2 ParallelGlowCoupling: the first halves from the second halves of all scales (S2), then the second halves from the
    // updated first halves (S1); outputs clamped to ±1e6.
    private static string[] Coupling(OnnxGraphBuilder b, StateDictionaryReader reader, CsFlowNetworkOptions network, int k, string[] x, bool last)
    {
        int c = network.Channels, c1 = c / 2, c2 = c - c1;
        string name = $"block{k}";
        var x1 = new string[ScaleCount];
        var x2 = new string[ScaleCount];
        for (int s = 0; s < ScaleCount; s++)
        {
            string[] halves = FlowGraphParts.SplitChannels(b, x[s], c1, c2, $"{name}.x1_{s}", $"{name}.x2_{s}");
            x1[s] = halves[0];
            x2[s] = halves[1];
        }
        string[] r = Subnet(b, reader, network, k, name + ".s2", x2, c2, 2 * c1);
        var y1 = new string[ScaleCount];
        for (int s = 0; s < ScaleCount; s++) y1[s] = Affine(b, network.Alpha, x1[s], r[s], c1, $"{name}.y1_{s}");
        string[] rPrime = Subnet(b, reader, network, k, name + ".s1", y1, c1, 2 * c2);
        var output = new string[ScaleCount];
        for (int s = 0; s < ScaleCount; s++)
        {
            string y2 = Affine(b, network.Alpha, x2[s], rPrime[s], c2, $"{name}.y2_{s}");
            string concat = b.AddNode("Concat", [y1[s], y2], $"{name}.coupled{s}", OnnxAttributes.Int("axis", 1));
            output[s] = b.AddNode("Clip", [concat, b.Scalar(-OutputClamp), b.Scalar(OutputClamp)], last ? FlowGraphNames.Latent(s) : $"{name}.output{s}");
        }
        return output;
    }

    // y = exp(σ(r[:, :half])) ⊙ x + r[:, half:], σ(h) = α·0.636·atan(h/α).
    private static string Affine(OnnxGraphBuilder b, float alpha, string x, string r, int half, string name)
    {
        string[] st = FlowGraphParts.SplitChannels(b, r, half, half, name + ".s", name + ".t");
        string ratio = b.AddNode("Div", [st[0], b.Scalar(alpha)], name + ".s_over_alpha");
        string atan = b.AddNode("Atan", [ratio], name + ".atan");
        string sigma = b.AddNode("Mul", [atan, b.Scalar(alpha * TwoOverPi)], name + ".sigma");
        string e = b.AddNode("Exp", [sigma], name + ".exp_sigma");
        string scaled = b.AddNode("Mul", [e, x], name + ".scaled");
        return b.AddNode("Add", [scaled, st[1]], name);
    }

    // C.2 cross-scale subnetwork: h_s = LeakyReLU_0.1(conv_in_s(x_s)); o_0 = conv_out0(h0) + up_conv10(up(h1));
    // o_1 = conv_out1(h1) + down_conv01(h0) + up_conv21(up(h2)); o_2 = conv_out2(h2) + down_conv12(h1); r_s = γ_s·o_s.
    private static string[] Subnet(OnnxGraphBuilder b, StateDictionaryReader reader, CsFlowNetworkOptions network, int block, string name, string[] x, int inChannels, int outChannels)
    {
        int hidden = network.HiddenChannels, k = network.KernelSizes[block];
        var h = new string[ScaleCount];
        for (int s = 0; s < ScaleCount; s++)
        {
            string conv = Conv(b, reader, x[s], $"{name}.conv_in{s}", hidden, inChannels, k, 1);
            h[s] = b.AddNode("LeakyRelu", [conv], $"{name}.h{s}", OnnxAttributes.Float("alpha", LeakySlope));
        }
        var outConv = new string[ScaleCount];
        for (int s = 0; s < ScaleCount; s++) outConv[s] = Conv(b, reader, h[s], $"{name}.conv_out{s}", outChannels, hidden, k, 1);
        string up1 = FlowGraphParts.Upsample2x(b, h[1], $"{name}.h1_up");
        string up2 = FlowGraphParts.Upsample2x(b, h[2], $"{name}.h2_up");
        string up10 = Conv(b, reader, up1, $"{name}.up_conv10", outChannels, hidden, k, 1);
        string up21 = Conv(b, reader, up2, $"{name}.up_conv21", outChannels, hidden, k, 1);
        string down01 = Conv(b, reader, h[0], $"{name}.down_conv01", outChannels, hidden, k, 2);
        string down12 = Conv(b, reader, h[1], $"{name}.down_conv12", outChannels, hidden, k, 2);

        string[] raw =
        [
            b.AddNode("Add", [outConv[0], up10], $"{name}.raw0"),
            b.AddNode("Add", [b.AddNode("Add", [outConv[1], down01], $"{name}.raw1_partial"), up21], $"{name}.raw1"),
            b.AddNode("Add", [outConv[2], down12], $"{name}.raw2"),
        ];
        var result = new string[ScaleCount];
        for (int s = 0; s < ScaleCount; s++)
        {
            string gamma = b.AddInitializer($"{name}.gamma{s}", reader.Take($"{name}.gamma{s}", 1), 1);
            result[s] = b.AddNode("Mul", [raw[s], gamma], $"{name}.r{s}");
        }
        return result;
    }

    private static string Conv(OnnxGraphBuilder b, StateDictionaryReader reader, string x, string name, int outChannels, int inChannels, int k, int stride)
    {
        string weight = b.AddInitializer(name + ".weight", reader.Take(name + ".weight", outChannels, inChannels, k, k), outChannels, inChannels, k, k);
        string bias = b.AddInitializer(name + ".bias", reader.Take(name + ".bias", outChannels), outChannels);
        long p = k / 2;
        return b.AddNode("Conv", [x, weight, bias], name,
            OnnxAttributes.Ints("kernel_shape", k, k), OnnxAttributes.Ints("pads", p, p, p, p), OnnxAttributes.Ints("strides", stride, stride));
    }
}
