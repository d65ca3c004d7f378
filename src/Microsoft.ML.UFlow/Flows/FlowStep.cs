using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows;

/// <summary>
/// One flow step, FrEIA's <c>AllInOneBlock</c> as pinned by U-Flow (METHOD.md A.3.3–A.3.4): affine coupling on the
/// channels [C1, C) conditioned on the first C1 = ⌈C/2⌉ channels through Conv(k)→ReLU→Conv(k) scaled by 0.1, soft clamp
/// j = α·tanh(s), then the global affine v = u·(0.1·softplus_{β=0.5}(g)) + offset, then a fixed channel permutation.
/// </summary>
/// <remarks>
/// Backward uses stored activations: <see cref="Forward"/> keeps its input (by reference: the caller must not
/// overwrite it before <see cref="Backward"/>), the coupling input, the tanh and exp(j) maps and the coupled half y2.
/// <see cref="Inverse"/> reuses the same subnet buffers, so calling it between Forward and Backward invalidates Backward.
/// Every buffer is owned by the step and reused across calls with the same shape.
/// </remarks>
public sealed class FlowStep
{
    /// <summary>FrEIA's fixed 0.1 factor on the subnet output.</summary>
    public const float SubnetOutputScale = 0.1f;

    /// <summary>The initial raw global scale g₀ = 2·ln(e⁵ − 1), for which 0.1·softplus_{0.5}(g₀) = 1.</summary>
    public static readonly float GlobalScaleInit = (float)(2.0 * Math.Log(Math.Exp(5.0) - 1.0));

    private readonly Conv2d _conv1;
    private readonly ReLU _relu = new();
    private readonly Conv2d _conv2;
    private readonly int[] _permutation;
    private readonly int[] _inversePermutation;
    private readonly float[] _scale;
    private double[] _planeSums;
    private float[] _gradLogDet = [];

    private readonly Tensor _x1 = new(1);
    private readonly Tensor _tanh = new(1);
    private readonly Tensor _expJ = new(1);
    private readonly Tensor _y2 = new(1);
    private readonly Tensor _output = new(1);
    private readonly Tensor _gradInput = new(1);
    private readonly Tensor _gradA = new(1);
    private readonly Tensor _scratch = new(1);
    private readonly Tensor _inverse = new(1);
    private Tensor? _input;
    private bool _inverseSinceForward; // Inverse reuses the activations that Backward needs

    /// <summary>
    /// Creates a step on <paramref name="channels"/> channels with subnet kernel <paramref name="kernelSize"/>, drawing the
    /// subnet's PyTorch-default initialisation and then the permutation from <paramref name="random"/>.
    /// </summary>
    public FlowStep(int channels, int kernelSize, SeededRandom random, double subnetChannelsRatio = 1.0, float affineClamp = 2.0f, string name = "step")
    {
        if (channels < 2) throw new ArgumentOutOfRangeException(nameof(channels), channels, "A flow step needs at least 2 channels.");
        ArgumentNullException.ThrowIfNull(random);
        Channels = channels;
        PassiveChannels = channels - channels / 2;
        ActiveChannels = channels / 2;
        HiddenChannels = (int)(PassiveChannels * subnetChannelsRatio);
        if (HiddenChannels < 1) throw new ArgumentOutOfRangeException(nameof(subnetChannelsRatio), subnetChannelsRatio, "The subnet would have no hidden channels.");
        KernelSize = kernelSize;
        AffineClamp = affineClamp;
        Name = name;
        _conv1 = new Conv2d(PassiveChannels, HiddenChannels, kernelSize, random, name: name + ".subnet.0");
        _conv2 = new Conv2d(HiddenChannels, 2 * ActiveChannels, kernelSize, random, name: name + ".subnet.2");
        GlobalScale = new Parameter(name + ".global_scale", channels);
        GlobalScale.Value.Span.Fill(GlobalScaleInit);
        GlobalOffset = new Parameter(name + ".global_offset", channels);
        _permutation = random.Permutation(channels);
        _inversePermutation = Invert(_permutation);
        _scale = new float[channels];
        _planeSums = new double[channels];
        Parameters = [_conv1.Weight, _conv1.Bias, _conv2.Weight, _conv2.Bias, GlobalScale, GlobalOffset];
    }

    /// <summary>Parameter name prefix (e.g. <c>stage1.step0</c>).</summary>
    public string Name { get; }

    /// <summary>C, the number of channels in and out.</summary>
    public int Channels { get; }

    /// <summary>C1 = ⌈C/2⌉, the channels that condition the coupling (passed through unchanged).</summary>
    public int PassiveChannels { get; }

    /// <summary>C2 = ⌊C/2⌋, the channels transformed by the coupling.</summary>
    public int ActiveChannels { get; }

    /// <summary>Hidden width of the subnet, int(C1 · ratio).</summary>
    public int HiddenChannels { get; }

    /// <summary>Subnet kernel size (3 or 1 in U-Flow).</summary>
    public int KernelSize { get; }

    /// <summary>α of the soft clamp α·tanh(s) (FrEIA@pin form; U-Flow uses 2).</summary>
    public float AffineClamp { get; }

    /// <summary>First subnet convolution (C1 → hidden).</summary>
    public Conv2d SubnetConv1 => _conv1;

    /// <summary>Second subnet convolution (hidden → 2·C2).</summary>
    public Conv2d SubnetConv2 => _conv2;

    /// <summary>Raw global scale g (length C); the applied scale is 0.1·softplus_{β=0.5}(g).</summary>
    public Parameter GlobalScale { get; }

    /// <summary>Global offset (length C).</summary>
    public Parameter GlobalOffset { get; }

    /// <summary>The trainable parameters: subnet weights and biases, global scale, global offset.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The fixed permutation π: output channel i is the affine output channel π(i).</summary>
    public ReadOnlySpan<int> Permutation => _permutation;

    /// <summary>Replaces the permutation (used when loading a saved flow or an official checkpoint).</summary>
    public void SetPermutation(ReadOnlySpan<int> permutation)
    {
        if (permutation.Length != Channels) throw new ArgumentException($"Step '{Name}' needs a permutation of {Channels} channels; got {permutation.Length}.", nameof(permutation));
        int[] inverse = Invert(permutation.ToArray(), Name);
        permutation.CopyTo(_permutation);
        inverse.CopyTo(_inversePermutation, 0);
    }

    /// <summary>The applied global scale 0.1·softplus_{β=0.5}(g) (PyTorch threshold 20: linear above β·g = 20).</summary>
    public static double Softplus01(double g) => 0.5 * g > 20.0 ? 0.1 * g : 0.2 * Math.Log(1.0 + Math.Exp(0.5 * g));

    /// <summary>d/dg of <see cref="Softplus01"/>: 0.1·sigmoid(0.5·g) (0.1 above the threshold).</summary>
    public static double Softplus01Derivative(double g) => 0.5 * g > 20.0 ? 0.1 : 0.1 / (1.0 + Math.Exp(-0.5 * g));

    /// <summary>
    /// y = step(x). Adds each sample's log|det J| to <paramref name="logDet"/> (length N). Returns a tensor owned by
    /// this step (valid until its next Forward).
    /// </summary>
    public Tensor Forward(Tensor x, Span<float> logDet)
    {
        x.CheckRank4(nameof(x));
        int n = x.N, h = x.H, w = x.W, hw = h * w, c1 = PassiveChannels, c2 = ActiveChannels, c = Channels;
        if (x.C != c) throw new ArgumentException($"Step '{Name}' expects {c} channels but the input has shape {x}.", nameof(x));
        if (logDet.Length != n) throw new ArgumentException($"logDet has {logDet.Length} entries for a batch of {n}.", nameof(logDet));
        _input = x;
        _inverseSinceForward = false;
        _x1.EnsureShape(n, c1, h, w);
        _y2.EnsureShape(n, c2, h, w);
        _tanh.EnsureShape(n, c2, h, w);
        _expJ.EnsureShape(n, c2, h, w);
        _output.EnsureShape(n, c, h, w);
        ChannelOps.Copy(x, 0, _x1, 0, c1);
        Tensor a = _conv2.Forward(_relu.Forward(_conv1.Forward(_x1)));

        double[] sums = PlaneSums(n * c2);
        float alpha = AffineClamp;
        FlowParallel.For(n * c2, 8 * hw, nc =>
        {
            int b = nc / c2, ch = nc % c2;
            ReadOnlySpan<float> s = a.Plane(b, ch), t = a.Plane(b, c2 + ch), x2 = x.Plane(b, c1 + ch);
            Span<float> th = _tanh.Plane(b, ch), e = _expJ.Plane(b, ch), y2 = _y2.Plane(b, ch);
            TensorPrimitives.Multiply(s, SubnetOutputScale, th);
            TensorPrimitives.Tanh(th, th);
            TensorPrimitives.Multiply(th, alpha, e);          // j = α·tanh(0.1·s)
            sums[nc] = TensorPrimitives.Sum(e);
            TensorPrimitives.Exp(e, e);
            TensorPrimitives.Multiply(x2, e, y2);
            TensorPrimitives.MultiplyAdd(t, SubnetOutputScale, y2, y2); // y2 = x2·exp(j) + 0.1·t
        });

        double logScaleSum = UpdateScale();
        for (int b = 0; b < n; b++)
        {
            double total = hw * logScaleSum;
            for (int ch = 0; ch < c2; ch++) total += sums[b * c2 + ch];
            logDet[b] += (float)total;
        }

        float[] scale = _scale;
        float[] offset = GlobalOffset.Value.Buffer;
        FlowParallel.For(n * c, 2 * hw, ni =>
        {
            int b = ni / c, i = ni % c, src = _permutation[i];
            Span<float> y = _output.Plane(b, i);
            TensorPrimitives.Multiply(CouplingOutput(x, b, src), scale[src], y);
            TensorPrimitives.Add(y, offset[src], y);
        });
        return _output;
    }

    /// <summary>
    /// Given ∂L/∂y of the last <see cref="Forward"/> and ∂L/∂logdet per sample, accumulates parameter gradients and returns
    /// ∂L/∂x (owned by this step), or null when <paramref name="needInputGradient"/> is false.
    /// </summary>
    public Tensor? Backward(Tensor gradOutput, ReadOnlySpan<float> gradLogDet, bool needInputGradient = true)
    {
        Tensor x = _input ?? throw new InvalidOperationException($"Step '{Name}': Backward called before Forward.");
        if (_inverseSinceForward)
        {
            throw new InvalidOperationException($"Step '{Name}': Inverse ran after the last Forward and overwrote the activations Backward needs; call Forward again before Backward.");
        }
        int n = x.N, h = x.H, w = x.W, hw = h * w, c1 = PassiveChannels, c2 = ActiveChannels, c = Channels;
        gradOutput.CheckShape(nameof(gradOutput), n, c, h, w);
        if (gradLogDet.Length != n) throw new ArgumentException($"gradLogDet has {gradLogDet.Length} entries for a batch of {n}.", nameof(gradLogDet));
        if (_gradLogDet.Length != n) _gradLogDet = new float[n];
        float[] gld = _gradLogDet;
        gradLogDet.CopyTo(gld);
        double gldSum = 0;
        foreach (float v in gld) gldSum += v;

        // Permutation and global affine: gu[:, π(i)] = gy[:, i]·scale; gradients of scale (incl. the H·W·Σ ln scale term) and offset.
        Tensor gu = _gradInput.EnsureShape(n, c, h, w);
        float[] scale = _scale, gScale = GlobalScale.Grad.Buffer, gOffset = GlobalOffset.Grad.Buffer, g = GlobalScale.Value.Buffer;
        FlowParallel.For(c, 3 * n * hw, i =>
        {
            int src = _permutation[i];
            double dScale = 0, dOffset = 0;
            for (int b = 0; b < n; b++)
            {
                ReadOnlySpan<float> gy = gradOutput.Plane(b, i);
                dScale += TensorPrimitives.Dot(gy, CouplingOutput(x, b, src));
                dOffset += TensorPrimitives.Sum(gy);
                TensorPrimitives.Multiply(gy, scale[src], gu.Plane(b, src));
            }
            dScale += gldSum * hw / scale[src];
            gScale[src] += (float)(dScale * Softplus01Derivative(g[src]));
            gOffset[src] += (float)dOffset;
        });

        // Coupling: y2 = x2·exp(j) + 0.1·t, j = α·tanh(0.1·s).
        Tensor ga = _gradA.EnsureShape(n, 2 * c2, h, w);
        Tensor scratch = _scratch.EnsureShape(n, c2, h, w);
        float alpha = AffineClamp;
        FlowParallel.For(n * c2, 10 * hw, nc =>
        {
            int b = nc / c2, ch = nc % c2;
            Span<float> gy2 = gu.Plane(b, c1 + ch);
            ReadOnlySpan<float> th = _tanh.Plane(b, ch), e = _expJ.Plane(b, ch), x2 = x.Plane(b, c1 + ch);
            Span<float> gs = ga.Plane(b, ch), tmp = scratch.Plane(b, ch);
            TensorPrimitives.Multiply(gy2, SubnetOutputScale, ga.Plane(b, c2 + ch));   // ∂/∂a_t
            TensorPrimitives.Multiply(x2, e, gs);
            TensorPrimitives.Multiply(gs, gy2, gs);
            TensorPrimitives.Add(gs, gld[b], gs);                                      // ∂L/∂j
            TensorPrimitives.Multiply(th, th, tmp);
            TensorPrimitives.Subtract(1f, tmp, tmp);                                   // 1 − tanh²
            TensorPrimitives.Multiply(gs, tmp, gs);
            TensorPrimitives.Multiply(gs, alpha * SubnetOutputScale, gs);              // ∂/∂a_s
            TensorPrimitives.Multiply(gy2, e, gy2);                                    // ∂L/∂x2 (in place)
        });

        Tensor gHidden = _relu.Backward(_conv2.Backward(ga));
        if (!needInputGradient)
        {
            Convolution.BackwardWeight(_x1, gHidden, 1, _conv1.Weight.Grad, _conv1.Bias.Grad, accumulate: true);
            return null;
        }
        Tensor gx1 = _conv1.Backward(gHidden);
        ChannelOps.Add(gx1, 0, gu, 0, c1);
        return gu;
    }

    /// <summary>
    /// x = step⁻¹(y). When <paramref name="logDet"/> is not empty, subtracts each sample's forward log|det J| from it.
    /// Returns a tensor owned by this step (valid until its next Inverse).
    /// </summary>
    public Tensor Inverse(Tensor y, Span<float> logDet = default)
    {
        y.CheckRank4(nameof(y));
        int n = y.N, h = y.H, w = y.W, hw = h * w, c1 = PassiveChannels, c2 = ActiveChannels, c = Channels;
        if (y.C != c) throw new ArgumentException($"Step '{Name}' expects {c} channels but the input has shape {y}.", nameof(y));
        _inverseSinceForward = true;
        Tensor x = _inverse.EnsureShape(n, c, h, w);
        double logScaleSum = UpdateScale();
        float[] scale = _scale;
        float[] offset = GlobalOffset.Value.Buffer;
        FlowParallel.For(n * c, 2 * hw, ni =>
        {
            int b = ni / c, i = ni % c, dst = _permutation[i];
            Span<float> u = x.Plane(b, dst);
            TensorPrimitives.Subtract(y.Plane(b, i), offset[dst], u);
            TensorPrimitives.Divide(u, scale[dst], u);
        });
        _x1.EnsureShape(n, c1, h, w);
        ChannelOps.Copy(x, 0, _x1, 0, c1);
        Tensor a = _conv2.Forward(_relu.Forward(_conv1.Forward(_x1)));
        double[] sums = PlaneSums(n * c2);
        float alpha = AffineClamp;
        Tensor scratch = _scratch.EnsureShape(n, c2, h, w);
        FlowParallel.For(n * c2, 8 * hw, nc =>
        {
            int b = nc / c2, ch = nc % c2;
            Span<float> x2 = x.Plane(b, c1 + ch), e = scratch.Plane(b, ch);
            TensorPrimitives.Multiply(a.Plane(b, ch), SubnetOutputScale, e);
            TensorPrimitives.Tanh(e, e);
            TensorPrimitives.Multiply(e, -alpha, e);                 // −j
            sums[nc] = TensorPrimitives.Sum(e);
            TensorPrimitives.Exp(e, e);
            TensorPrimitives.MultiplyAdd(a.Plane(b, c2 + ch), -SubnetOutputScale, x2, x2); // y2 − 0.1·t
            TensorPrimitives.Multiply(x2, e, x2);
        });
        if (!logDet.IsEmpty)
        {
            for (int b = 0; b < n; b++)
            {
                double total = -hw * logScaleSum;
                for (int ch = 0; ch < c2; ch++) total += sums[b * c2 + ch];
                logDet[b] += (float)total;
            }
        }
        return x;
    }

    // Channel ch of u = concat(x1, y2), the coupling output, without materialising it.
    private Span<float> CouplingOutput(Tensor x, int sample, int ch) => ch < PassiveChannels ? x.Plane(sample, ch) : _y2.Plane(sample, ch - PassiveChannels);

    private double[] PlaneSums(int count)
    {
        if (_planeSums.Length < count) _planeSums = new double[count];
        return _planeSums;
    }

    /// <summary>Recomputes the applied scales from g; returns Σ_c ln scale_c.</summary>
    private double UpdateScale()
    {
        ReadOnlySpan<float> g = GlobalScale.Value.Span;
        double sum = 0;
        for (int i = 0; i < Channels; i++)
        {
            float s = (float)Softplus01(g[i]);
            _scale[i] = s;
            sum += Math.Log(s);
        }
        return sum;
    }

    private static int[] Invert(int[] permutation, string name = "step")
    {
        int[] inverse = new int[permutation.Length];
        inverse.AsSpan().Fill(-1);
        for (int i = 0; i < permutation.Length; i++)
        {
            int p = permutation[i];
            if ((uint)p >= (uint)permutation.Length || inverse[p] >= 0)
            {
                throw new ArgumentException($"Step '{name}': the channel order is not a permutation (entry {i} = {p}).", nameof(permutation));
            }
            inverse[p] = i;
        }
        return inverse;
    }
}
