using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>
/// An independent float64 re-implementation of the U-shaped flow for one sample, written directly from METHOD.md
/// A.2.2/A.3 with naive loops (reads the weights and permutations of a <see cref="UShapedFlow"/>). Parameters can be
/// overridden (by name, flat index) to take finite differences.
/// </summary>
internal sealed class FlowReference
{
    private readonly UShapedFlow _flow;
    private readonly Dictionary<string, double[]> _params = new();

    public FlowReference(UShapedFlow flow)
    {
        _flow = flow;
        foreach (Parameter p in flow.Parameters) _params[p.Name] = p.Value.Span.ToArray().Select(v => (double)v).ToArray();
    }

    public double[] Param(string name) => _params[name];

    /// <summary>Latents (finest first, flat C·H·W each) and the log-det of one sample given flat per-scale features.</summary>
    public (double[][] Latents, double LogDet) Forward(double[][] features)
    {
        var cfg = _flow.Config;
        var plan = _flow.Plan;
        int levels = cfg.Scales.Count;
        double logDet = 0;
        var inputs = new double[levels][];
        for (int l = 0; l < levels; l++) inputs[l] = cfg.FeatureLayerNorm ? LayerNorm(features[l], $"layernorm{l}") : features[l];
        var latents = new double[levels][];
        var s0 = cfg.Scales[levels - 1];
        double[] h = Stage(levels - 1, inputs[levels - 1], s0.Height, s0.Width, ref logDet);
        for (int l = levels - 1; l >= 1; l--)
        {
            var coarse = cfg.Scales[l];
            var fine = cfg.Scales[l - 1];
            int hw = coarse.Height * coarse.Width, v = plan.StageChannels[l], nUp = plan.UpChannels[l];
            latents[l] = h.AsSpan(nUp * hw, (v - nUp) * hw).ToArray();
            double[] up = h.AsSpan(0, nUp * hw).ToArray();
            int ch = nUp, hh = coarse.Height, ww = coarse.Width;
            for (int k = 0; k < plan.Upsamplings[l]; k++)
            {
                up = PixelShuffle(up, ch, hh, ww);
                ch /= 4; hh *= 2; ww *= 2;
            }
            double[] concat = [.. inputs[l - 1], .. up];
            h = Stage(l - 1, concat, fine.Height, fine.Width, ref logDet);
        }
        latents[0] = h;
        return (latents, logDet);
    }

    private double[] Stage(int l, double[] x, int height, int width, ref double logDet)
    {
        for (int s = 0; s < _flow.Config.FlowSteps; s++)
        {
            x = Step(_flow.Stage(l)[s], x, height, width, ref logDet);
        }
        return x;
    }

    private double[] Step(FlowStep step, double[] x, int height, int width, ref double logDet)
    {
        int c = step.Channels, c1 = step.PassiveChannels, c2 = step.ActiveChannels, hw = height * width, k = step.KernelSize;
        string n = step.Name;
        double[] x1 = x.AsSpan(0, c1 * hw).ToArray();
        double[] hidden = Conv(x1, c1, step.HiddenChannels, k, height, width, _params[n + ".subnet.0.weight"], _params[n + ".subnet.0.bias"]);
        for (int i = 0; i < hidden.Length; i++) hidden[i] = Math.Max(hidden[i], 0);
        double[] a = Conv(hidden, step.HiddenChannels, 2 * c2, k, height, width, _params[n + ".subnet.2.weight"], _params[n + ".subnet.2.bias"]);
        double[] u = (double[])x.Clone();
        for (int i = 0; i < c2 * hw; i++)
        {
            double s = 0.1 * a[i], t = 0.1 * a[c2 * hw + i];
            double j = step.AffineClamp * Math.Tanh(s);
            logDet += j;
            u[c1 * hw + i] = x[c1 * hw + i] * Math.Exp(j) + t;
        }
        double[] g = _params[n + ".global_scale"], off = _params[n + ".global_offset"];
        var result = new double[c * hw];
        for (int i = 0; i < c; i++)
        {
            int src = step.Permutation[i];
            double scale = 0.1 * 2.0 * Math.Log(1 + Math.Exp(0.5 * g[src]));
            for (int p = 0; p < hw; p++) result[i * hw + p] = u[src * hw + p] * scale + off[src];
        }
        for (int i = 0; i < c; i++) logDet += hw * Math.Log(0.2 * Math.Log(1 + Math.Exp(0.5 * g[i])));
        return result;
    }

    private double[] LayerNorm(double[] x, string name)
    {
        double mean = x.Average();
        double variance = x.Select(v => (v - mean) * (v - mean)).Average();
        double rstd = 1 / Math.Sqrt(variance + 1e-5);
        double[] w = _params[name + ".weight"], b = _params[name + ".bias"];
        return x.Select((v, i) => (v - mean) * rstd * w[i] + b[i]).ToArray();
    }

    public static double[] Conv(double[] x, int cin, int cout, int k, int height, int width, double[] w, double[] bias)
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
    public static double[] PixelShuffle(double[] x, int channels, int height, int width)
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
