using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// CS-Flow's affine coupling over three scales at once (METHOD.md C.2). With C1 = ⌊C/2⌋ (first half) and
/// C2 = C − C1, per scale i:
/// <code>
/// r  = S2(x_{·,2});  y_{i,1} = exp(σ(r_i[:, :C1]))  ⊙ x_{i,1} + r_i[:, C1:]
/// r' = S1(y_{·,1});  y_{i,2} = exp(σ(r'_i[:, :C2])) ⊙ x_{i,2} + r'_i[:, C2:]
/// out_i = clamp(concat(y_{i,1}, y_{i,2}), −1e6, 1e6);  log|det J| = Σ σ(s) + Σ σ(s')
/// </code>
/// where S1, S2 are <see cref="CrossScaleSubnet"/>s and σ is <see cref="CsFlowSoftClamp"/>.
/// </summary>
/// <remarks>Keeps the tensors of the last <see cref="Forward"/> for <see cref="Backward"/>; not thread-safe.</remarks>
public sealed class ParallelGlowCoupling
{
    /// <summary>The output clamp of the official code.</summary>
    public const float OutputClamp = 1e6f;

    private readonly Tensor[] _x1 = [new(1), new(1), new(1)];
    private readonly Tensor[] _x2 = [new(1), new(1), new(1)];
    private readonly Tensor[] _y1 = [new(1), new(1), new(1)];
    private readonly Tensor[] _y2 = [new(1), new(1), new(1)];
    private readonly Tensor[] _output = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradX1 = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradX2 = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradY1 = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradR = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradInput = [new(1), new(1), new(1)];
    private readonly Tensor[] _inverse = [new(1), new(1), new(1)];
    private IReadOnlyList<Tensor>? _r;
    private IReadOnlyList<Tensor>? _rPrime;

    /// <summary>Creates the coupling with two fresh subnetworks (S2 first, then S1, drawn from <paramref name="random"/>).</summary>
    /// <param name="channels">Channels C of every scale (at least 2).</param>
    /// <param name="hiddenChannels">Hidden width of the subnetworks (1024 in CS-Flow).</param>
    /// <param name="kernelSize">Kernel size of the subnetworks' convolutions.</param>
    /// <param name="alpha">Soft-clamp α (3 in CS-Flow).</param>
    /// <param name="random">Source of the initial weights.</param>
    /// <param name="name">Prefix of the parameter names.</param>
    public ParallelGlowCoupling(int channels, int hiddenChannels, int kernelSize, float alpha, SeededRandom random, string name = "coupling")
    {
        if (channels < 2) throw new ArgumentOutOfRangeException(nameof(channels), channels, "At least 2 channels are needed to split.");
        if (!(alpha > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The clamp must be positive.");
        Channels = channels;
        FirstHalf = channels / 2;
        SecondHalf = channels - FirstHalf;
        Alpha = alpha;
        S2 = new CrossScaleSubnet(SecondHalf, 2 * FirstHalf, hiddenChannels, kernelSize, random, name + ".s2");
        S1 = new CrossScaleSubnet(FirstHalf, 2 * SecondHalf, hiddenChannels, kernelSize, random, name + ".s1");
        Parameters = S2.Parameters.Concat(S1.Parameters).ToArray();
    }

    /// <summary>Channels C of every scale.</summary>
    public int Channels { get; }

    /// <summary>C1 = ⌊C/2⌋, the size of the first half.</summary>
    public int FirstHalf { get; }

    /// <summary>C2 = C − C1, the size of the second half.</summary>
    public int SecondHalf { get; }

    /// <summary>The soft-clamp α.</summary>
    public float Alpha { get; }

    /// <summary>The subnetwork that computes (s, t) for the first half from the second halves.</summary>
    public CrossScaleSubnet S2 { get; }

    /// <summary>The subnetwork that computes (s', t') for the second half from the updated first halves.</summary>
    public CrossScaleSubnet S1 { get; }

    /// <summary>All trainable parameters (S2's, then S1's).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>
    /// Maps the three scales and adds this block's log|det J| per sample to <paramref name="logDet"/> (length N).
    /// The outputs are owned by this block and overwritten by the next call.
    /// </summary>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs, Span<double> logDet)
    {
        CrossScaleSubnet.CheckScales(inputs, Channels, nameof(inputs));
        int batch = inputs[0].N;
        if (logDet.Length != batch) throw new ArgumentException($"logDet has {logDet.Length} entries but the batch is {batch}.", nameof(logDet));
        for (int s = 0; s < 3; s++)
        {
            Tensor x = inputs[s];
            ChannelSlices.Copy(x, 0, _x1[s].EnsureShape(batch, FirstHalf, x.H, x.W), 0, FirstHalf);
            ChannelSlices.Copy(x, FirstHalf, _x2[s].EnsureShape(batch, SecondHalf, x.H, x.W), 0, SecondHalf);
        }
        _r = S2.Forward(_x2);
        for (int s = 0; s < 3; s++)
        {
            _y1[s].EnsureShape(_x1[s].Shape.ToArray());
            AffineForward(_x1[s], _r[s], _y1[s], logDet);
        }
        _rPrime = S1.Forward(_y1);
        for (int s = 0; s < 3; s++)
        {
            _y2[s].EnsureShape(_x2[s].Shape.ToArray());
            AffineForward(_x2[s], _rPrime[s], _y2[s], logDet);
            Tensor o = _output[s].EnsureShape(inputs[s].Shape.ToArray());
            ChannelSlices.Copy(_y1[s], 0, o, 0, FirstHalf);
            ChannelSlices.Copy(_y2[s], 0, o, FirstHalf, SecondHalf);
            TensorPrimitives.Clamp(o.Span, -OutputClamp, OutputClamp, o.Span);
        }
        return _output;
    }

    /// <summary>
    /// Given ∂L/∂output and ∂L/∂logDet (per sample) for the last <see cref="Forward"/>, accumulates parameter gradients
    /// and returns ∂L/∂input per scale (owned by this block).
    /// </summary>
    public IReadOnlyList<Tensor> Backward(IReadOnlyList<Tensor> gradOutputs, ReadOnlySpan<double> gradLogDet)
    {
        IReadOnlyList<Tensor> r = _r ?? throw new InvalidOperationException("Backward called before Forward.");
        IReadOnlyList<Tensor> rPrime = _rPrime!;
        for (int s = 0; s < 3; s++)
        {
            gradOutputs[s].CheckShape($"{nameof(gradOutputs)}[{s}]", _output[s].Shape.ToArray());
            // The clamp passes the gradient only where it did not bite (as torch.clamp).
            ChannelSlices.Copy(gradOutputs[s], 0, _gradY1[s].EnsureShape(_y1[s].Shape.ToArray()), 0, FirstHalf);
            ChannelSlices.Copy(gradOutputs[s], FirstHalf, _gradX2[s].EnsureShape(_y2[s].Shape.ToArray()), 0, SecondHalf);
            MaskClamped(_y1[s], _gradY1[s]);
            MaskClamped(_y2[s], _gradX2[s]);
            // _gradX2 holds ∂L/∂y2 here; AffineBackward turns it into the direct part of ∂L/∂x2.
            _gradR[s].EnsureShape(rPrime[s].Shape.ToArray());
            AffineBackward(_x2[s], rPrime[s], _gradX2[s], _gradX2[s], _gradR[s], gradLogDet);
        }
        IReadOnlyList<Tensor> gradFromS1 = S1.Backward(_gradR);
        for (int s = 0; s < 3; s++)
        {
            TensorPrimitives.Add(_gradY1[s].Span, gradFromS1[s].Span, _gradY1[s].Span);
            _gradX1[s].EnsureShape(_x1[s].Shape.ToArray());
            _gradR[s].EnsureShape(r[s].Shape.ToArray());
            AffineBackward(_x1[s], r[s], _gradY1[s], _gradX1[s], _gradR[s], gradLogDet);
        }
        IReadOnlyList<Tensor> gradFromS2 = S2.Backward(_gradR);
        for (int s = 0; s < 3; s++)
        {
            TensorPrimitives.Add(_gradX2[s].Span, gradFromS2[s].Span, _gradX2[s].Span);
            Tensor g = _gradInput[s].EnsureShape(_output[s].Shape.ToArray());
            ChannelSlices.Copy(_gradX1[s], 0, g, 0, FirstHalf);
            ChannelSlices.Copy(_gradX2[s], 0, g, FirstHalf, SecondHalf);
        }
        return _gradInput;
    }

    /// <summary>
    /// The inverse map: recovers the inputs from the outputs (exact up to float rounding where the output clamp did not
    /// bite). The results are owned by this block. Invalidates the state kept for <see cref="Backward"/>.
    /// </summary>
    public IReadOnlyList<Tensor> Inverse(IReadOnlyList<Tensor> outputs)
    {
        CrossScaleSubnet.CheckScales(outputs, Channels, nameof(outputs));
        _r = _rPrime = null;
        int batch = outputs[0].N;
        var y1 = new Tensor[3];
        var y2 = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            Tensor o = outputs[s];
            y1[s] = new Tensor(batch, FirstHalf, o.H, o.W);
            y2[s] = new Tensor(batch, SecondHalf, o.H, o.W);
            ChannelSlices.Copy(o, 0, y1[s], 0, FirstHalf);
            ChannelSlices.Copy(o, FirstHalf, y2[s], 0, SecondHalf);
        }
        IReadOnlyList<Tensor> rPrime = S1.Forward(y1);
        var x2 = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            x2[s] = new Tensor(y2[s].Shape.ToArray());
            AffineInverse(y2[s], rPrime[s], x2[s]);
        }
        IReadOnlyList<Tensor> r = S2.Forward(x2);
        for (int s = 0; s < 3; s++)
        {
            var x1 = new Tensor(y1[s].Shape.ToArray());
            AffineInverse(y1[s], r[s], x1);
            Tensor x = _inverse[s].EnsureShape(outputs[s].Shape.ToArray());
            ChannelSlices.Copy(x1, 0, x, 0, FirstHalf);
            ChannelSlices.Copy(x2[s], 0, x, FirstHalf, SecondHalf);
        }
        return _inverse;
    }

    // y = exp(σ(s)) ⊙ x + t with (s, t) = (r[:, :c], r[:, c:]); adds Σ σ(s) per sample to logDet.
    private void AffineForward(Tensor x, Tensor r, Tensor y, Span<double> logDet)
    {
        int perSample = x.C * x.H * x.W;
        float alpha = Alpha, gain = alpha * CsFlowSoftClamp.TwoOverPi;
        for (int n = 0; n < x.N; n++)
        {
            ReadOnlySpan<float> xs = x.Sample(n), sRaw = r.Sample(n).Slice(0, perSample), t = r.Sample(n).Slice(perSample, perSample);
            Span<float> ys = y.Sample(n);
            double sum = 0;
            for (int i = 0; i < perSample; i++)
            {
                float sigma = gain * MathF.Atan(sRaw[i] / alpha);
                ys[i] = MathF.Exp(sigma) * xs[i] + t[i];
                sum += sigma;
            }
            logDet[n] += sum;
        }
    }

    // From ∂L/∂y (gradY) and ∂L/∂logDet: ∂L/∂x = gradY ⊙ e^σ (into gradX, which may alias gradY), ∂L/∂s and ∂L/∂t (into gradR).
    private void AffineBackward(Tensor x, Tensor r, Tensor gradY, Tensor gradX, Tensor gradR, ReadOnlySpan<double> gradLogDet)
    {
        int perSample = x.C * x.H * x.W;
        float alpha = Alpha, gain = alpha * CsFlowSoftClamp.TwoOverPi;
        for (int n = 0; n < x.N; n++)
        {
            ReadOnlySpan<float> xs = x.Sample(n), sRaw = r.Sample(n).Slice(0, perSample);
            Span<float> gy = gradY.Sample(n), gx = gradX.Sample(n);
            Span<float> gs = gradR.Sample(n).Slice(0, perSample), gt = gradR.Sample(n).Slice(perSample, perSample);
            float gld = (float)gradLogDet[n];
            for (int i = 0; i < perSample; i++)
            {
                float u = sRaw[i] / alpha;
                float e = MathF.Exp(gain * MathF.Atan(u));
                float dSigma = CsFlowSoftClamp.TwoOverPi / (1f + u * u);
                float g = gy[i];
                gt[i] = g;
                gs[i] = (g * xs[i] * e + gld) * dSigma;
                gx[i] = g * e;
            }
        }
    }

    // x = (y − t) ⊙ exp(−σ(s)).
    private void AffineInverse(Tensor y, Tensor r, Tensor x)
    {
        int perSample = y.C * y.H * y.W;
        float alpha = Alpha, gain = alpha * CsFlowSoftClamp.TwoOverPi;
        for (int n = 0; n < y.N; n++)
        {
            ReadOnlySpan<float> ys = y.Sample(n), sRaw = r.Sample(n).Slice(0, perSample), t = r.Sample(n).Slice(perSample, perSample);
            Span<float> xs = x.Sample(n);
            for (int i = 0; i < perSample; i++)
            {
                xs[i] = (ys[i] - t[i]) * MathF.Exp(-gain * MathF.Atan(sRaw[i] / alpha));
            }
        }
    }

    private static void MaskClamped(Tensor preClamp, Tensor grad)
    {
        Span<float> g = grad.Span;
        ReadOnlySpan<float> v = preClamp.Span;
        for (int i = 0; i < g.Length; i++)
        {
            if (!(MathF.Abs(v[i]) <= OutputClamp)) g[i] = 0f;
        }
    }
}
