using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// An independent float64 re-implementation of the U-shaped flow for one sample, written directly from METHOD.md
/// A.2.2/A.3 with naive loops; it reads the weights and permutations from a state dictionary (the names of
/// <see cref="Microsoft.ML.UFlow.Training.UFlowStateDictionary"/>). Parameters can be overridden (by name, flat index)
/// to take finite differences.
/// </summary>
internal sealed class UFlowReference
{
    private readonly UFlowConfig _config;
    private readonly UFlowPlan _plan;
    private readonly Dictionary<string, double[]> _params = new();
    private readonly Dictionary<string, int[]> _perms = new();

    public UFlowReference(UFlowConfig config, IReadOnlyDictionary<string, StateTensor> state)
    {
        _config = config;
        _plan = config.Plan();
        foreach ((string name, StateTensor t) in state)
        {
            if (name.EndsWith(".perm", StringComparison.Ordinal)) _perms[name[..^".perm".Length]] = t.Values.Select(v => (int)v).ToArray();
            else _params[name] = t.Values.Select(v => (double)v).ToArray();
        }
    }

    /// <summary>The names of the trainable parameters.</summary>
    public IEnumerable<string> ParameterNames => _params.Keys;

    /// <summary>The parameter's values (changing them changes the next <see cref="Forward"/>).</summary>
    public double[] Param(string name) => _params[name];

    /// <summary>Latents (finest first, flat C·H·W each) and the log-det of one sample given flat per-scale features.</summary>
    public (double[][] Latents, double LogDet) Forward(double[][] features)
    {
        int levels = _config.Scales.Count;
        double logDet = 0;
        var inputs = new double[levels][];
        for (int l = 0; l < levels; l++) inputs[l] = _config.FeatureLayerNorm ? LayerNorm(features[l], $"layernorm{l}") : features[l];
        var latents = new double[levels][];
        FlowScale coarsest = _config.Scales[levels - 1];
        double[] h = Stage(levels - 1, inputs[levels - 1], coarsest.Height, coarsest.Width, ref logDet);
        for (int l = levels - 1; l >= 1; l--)
        {
            FlowScale coarse = _config.Scales[l], fine = _config.Scales[l - 1];
            int hw = coarse.Height * coarse.Width, v = _plan.StageChannels[l], nUp = _plan.UpChannels[l];
            latents[l] = h.AsSpan(nUp * hw, (v - nUp) * hw).ToArray();
            double[] up = h.AsSpan(0, nUp * hw).ToArray();
            int ch = nUp, hh = coarse.Height, ww = coarse.Width;
            for (int k = 0; k < _plan.Upsamplings[l]; k++)
            {
                up = PixelShuffle(up, ch, hh, ww);
                ch /= 4;
                hh *= 2;
                ww *= 2;
            }
            double[] concat = [.. inputs[l - 1], .. up];
            h = Stage(l - 1, concat, fine.Height, fine.Width, ref logDet);
        }
        latents[0] = h;
        return (latents, logDet);
    }

    private double[] Stage(int l, double[] x, int height, int width, ref double logDet)
    {
        for (int s = 0; s < _config.FlowSteps; s++) x = Step($"stage{l}.step{s}", _plan.StageChannels[l], UFlowConfig.KernelOfStep(s), x, height, width, ref logDet);
        return x;
    }

    // FrEIA's AllInOneBlock as U-Flow pins it (A.3.3): coupling of the last C2 channels given the first C1, soft clamp
    // α·tanh(0.1·s), global affine with scale 0.1·softplus_{β=0.5}(g), then out[c] = v[perm[c]].
    private double[] Step(string n, int c, int k, double[] x, int height, int width, ref double logDet)
    {
        int c2 = c / 2, c1 = c - c2, hw = height * width, hidden = (int)(c1 * _config.SubnetChannelsRatio);
        double[] x1 = x.AsSpan(0, c1 * hw).ToArray();
        double[] h = Conv(x1, c1, hidden, k, height, width, _params[n + ".subnet.0.weight"], _params[n + ".subnet.0.bias"]);
        for (int i = 0; i < h.Length; i++) h[i] = Math.Max(h[i], 0);
        double[] a = Conv(h, hidden, 2 * c2, k, height, width, _params[n + ".subnet.2.weight"], _params[n + ".subnet.2.bias"]);
        double[] u = (double[])x.Clone();
        for (int i = 0; i < c2 * hw; i++)
        {
            double s = 0.1 * a[i], t = 0.1 * a[c2 * hw + i];
            double j = _config.AffineClamp * Math.Tanh(s);
            logDet += j;
            u[c1 * hw + i] = x[c1 * hw + i] * Math.Exp(j) + t;
        }
        double[] g = _params[n + ".global_scale"], offset = _params[n + ".global_offset"];
        int[] perm = _perms[n];
        var result = new double[c * hw];
        for (int i = 0; i < c; i++)
        {
            int src = perm[i];
            double scale = 0.2 * Math.Log(1 + Math.Exp(0.5 * g[src]));
            for (int p = 0; p < hw; p++) result[i * hw + p] = u[src * hw + p] * scale + offset[src];
        }
        for (int i = 0; i < c; i++) logDet += hw * Math.Log(0.2 * Math.Log(1 + Math.Exp(0.5 * g[i])));
        return result;
    }

    // nn.LayerNorm([C, H, W]) over the whole map, ε = 1e-5, elementwise affine.
    private double[] LayerNorm(double[] x, string name)
    {
        double mean = x.Average();
        double variance = x.Select(v => (v - mean) * (v - mean)).Average();
        double rstd = 1 / Math.Sqrt(variance + 1e-5);
        double[] w = _params[name + ".weight"], b = _params[name + ".bias"];
        return x.Select((v, i) => (v - mean) * rstd * w[i] + b[i]).ToArray();
    }

    private static double[] Conv(double[] x, int cin, int cout, int k, int height, int width, double[] w, double[] bias)
    {
        var y = new double[cout * height * width];
        int pad = k / 2;
        for (int o = 0; o < cout; o++)
        for (int i = 0; i < height; i++)
        for (int j = 0; j < width; j++)
        {
            double acc = bias[o];
            for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int yy = i + ky - pad, xx = j + kx - pad;
                if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
                acc += w[((o * cin + ci) * k + ky) * k + kx] * x[(ci * height + yy) * width + xx];
            }
            y[(o * height + i) * width + j] = acc;
        }
        return y;
    }

    /// <summary>out[k, 2i+dy, 2j+dx] = in[4k + 2dy + dx, i, j] (METHOD.md A.3.2), written from the formula.</summary>
    private static double[] PixelShuffle(double[] x, int channels, int height, int width)
    {
        var y = new double[x.Length];
        for (int k = 0; k < channels / 4; k++)
        for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++)
        for (int i = 0; i < height; i++)
        for (int j = 0; j < width; j++)
            y[(k * 2 * height + 2 * i + dy) * 2 * width + 2 * j + dx] = x[((4 * k + 2 * dy + dx) * height + i) * width + j];
        return y;
    }
}
