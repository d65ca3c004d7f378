using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// CS-Flow's cross-scale subnetwork ("CrossConvolutions", METHOD.md C.2): it maps three inputs (scales 0, 1, 2, each
/// half as large as the previous) to three outputs of the same sizes, mixing the scales through strided convolutions
/// (finer → coarser) and bilinear ×2 upsampling followed by a convolution (coarser → finer):
/// <code>
/// h_s = LeakyReLU_0.1(Conv_{s,0}(x_s))
/// o_0 = γ_0 · (Conv_{0,1}(h_0) + UpConv_{10}(Up(h_1)))
/// o_1 = γ_1 · (Conv_{1,1}(h_1) + DownConv_{01}(h_0) + UpConv_{21}(Up(h_2)))
/// o_2 = γ_2 · (Conv_{2,1}(h_2) + DownConv_{12}(h_1))
/// </code>
/// All convolutions are k×k with bias and zero padding k/2; DownConv has stride 2. The γ scalars start at 0, so the
/// coupling that uses this subnetwork starts as the identity.
/// </summary>
/// <remarks>Holds its activations from the last <see cref="Forward"/> for <see cref="Backward"/>; not thread-safe.</remarks>
public sealed class CrossScaleSubnet
{
    /// <summary>The LeakyReLU slope of the official code.</summary>
    public const float LeakySlope = 0.1f;

    private readonly Conv2d[] _convIn = new Conv2d[3];
    private readonly LeakyReLU[] _act = new LeakyReLU[3];
    private readonly Conv2d[] _convOut = new Conv2d[3];
    private readonly Conv2d _upConv10, _upConv21, _downConv01, _downConv12;
    private readonly Parameter[] _gamma = new Parameter[3];
    private readonly Tensor _up1 = new(1), _up2 = new(1);
    private BilinearTable? _upTable1, _upTable2; // scale 1 → 0 and scale 2 → 1 upsampling, rebuilt only when a shape changes
    private readonly Tensor[] _raw = [new(1), new(1), new(1)];
    private readonly Tensor[] _output = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradRaw = [new(1), new(1), new(1)];
    private readonly Tensor[] _gradAct = [new(1), new(1), new(1)];

    /// <summary>Creates the subnetwork with PyTorch's default convolution initialisation and γ = 0.</summary>
    /// <param name="inChannels">Channels of every input scale.</param>
    /// <param name="outChannels">Channels of every output scale.</param>
    /// <param name="hiddenChannels">Width of the hidden layer (1024 in CS-Flow).</param>
    /// <param name="kernelSize">Odd kernel size of every convolution.</param>
    /// <param name="random">Source of the initial weights.</param>
    /// <param name="name">Prefix of the parameter names.</param>
    public CrossScaleSubnet(int inChannels, int outChannels, int hiddenChannels, int kernelSize, SeededRandom random, string name = "subnet")
    {
        ArgumentNullException.ThrowIfNull(random);
        InChannels = inChannels;
        OutChannels = outChannels;
        HiddenChannels = hiddenChannels;
        KernelSize = kernelSize;
        for (int s = 0; s < 3; s++)
        {
            _convIn[s] = new Conv2d(inChannels, hiddenChannels, kernelSize, random, 1, $"{name}.conv_in{s}");
            _act[s] = new LeakyReLU(LeakySlope);
        }
        for (int s = 0; s < 3; s++)
        {
            _convOut[s] = new Conv2d(hiddenChannels, outChannels, kernelSize, random, 1, $"{name}.conv_out{s}");
        }
        _upConv10 = new Conv2d(hiddenChannels, outChannels, kernelSize, random, 1, $"{name}.up_conv10");
        _upConv21 = new Conv2d(hiddenChannels, outChannels, kernelSize, random, 1, $"{name}.up_conv21");
        _downConv01 = new Conv2d(hiddenChannels, outChannels, kernelSize, random, 2, $"{name}.down_conv01");
        _downConv12 = new Conv2d(hiddenChannels, outChannels, kernelSize, random, 2, $"{name}.down_conv12");
        for (int s = 0; s < 3; s++)
        {
            _gamma[s] = new Parameter($"{name}.gamma{s}", 1);
        }
        var all = new List<Parameter>();
        foreach (Conv2d c in _convIn) all.AddRange(c.Parameters);
        foreach (Conv2d c in _convOut) all.AddRange(c.Parameters);
        foreach (Conv2d c in new[] { _upConv10, _upConv21, _downConv01, _downConv12 }) all.AddRange(c.Parameters);
        all.AddRange(_gamma);
        Parameters = all;
    }

    /// <summary>Channels of every input scale.</summary>
    public int InChannels { get; }

    /// <summary>Channels of every output scale.</summary>
    public int OutChannels { get; }

    /// <summary>Width of the hidden layer.</summary>
    public int HiddenChannels { get; }

    /// <summary>Kernel size of every convolution.</summary>
    public int KernelSize { get; }

    /// <summary>All trainable parameters (10 convolutions' weights and biases, then γ_0, γ_1, γ_2).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The learnable output scale γ_s of scale <paramref name="scale"/>.</summary>
    public Parameter Gamma(int scale) => _gamma[scale];

    /// <summary>Number of parameters of one subnetwork, computed from its sizes.</summary>
    public static long CountParameters(int inChannels, int outChannels, int hiddenChannels, int kernelSize)
    {
        long k2 = (long)kernelSize * kernelSize;
        long inConv = inChannels * hiddenChannels * k2 + hiddenChannels;
        long outConv = hiddenChannels * outChannels * k2 + outChannels;
        return 3 * inConv + 7 * outConv + 3;
    }

    /// <summary>Computes the three outputs (owned by this subnetwork, overwritten by the next call).</summary>
    /// <exception cref="ArgumentException">The inputs are not three NCHW tensors with sizes H, H/2, H/4 (exact halves).</exception>
    public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs)
    {
        CheckScales(inputs, InChannels, nameof(inputs));
        var h = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            h[s] = _act[s].Forward(_convIn[s].Forward(inputs[s]));
        }
        Upsample(h[1], _up1, ref _upTable1);
        Upsample(h[2], _up2, ref _upTable2);

        CopyInto(_convOut[0].Forward(h[0]), _raw[0]);
        AddInto(_upConv10.Forward(_up1), _raw[0]);

        CopyInto(_convOut[1].Forward(h[1]), _raw[1]);
        AddInto(_downConv01.Forward(h[0]), _raw[1]);
        AddInto(_upConv21.Forward(_up2), _raw[1]);

        CopyInto(_convOut[2].Forward(h[2]), _raw[2]);
        AddInto(_downConv12.Forward(h[1]), _raw[2]);

        for (int s = 0; s < 3; s++)
        {
            _output[s].EnsureShape(_raw[s].Shape.ToArray());
            TensorPrimitives.Multiply(_raw[s].Span, _gamma[s].Value.Span[0], _output[s].Span);
        }
        return _output;
    }

    /// <summary>
    /// Given ∂L/∂output of the last <see cref="Forward"/>, accumulates the parameter gradients and returns ∂L/∂input
    /// per scale (owned by this subnetwork).
    /// </summary>
    public IReadOnlyList<Tensor> Backward(IReadOnlyList<Tensor> gradOutputs)
    {
        if (gradOutputs.Count != 3) throw new ArgumentException("Three gradient tensors (one per scale) are expected.", nameof(gradOutputs));
        for (int s = 0; s < 3; s++)
        {
            gradOutputs[s].CheckShape($"{nameof(gradOutputs)}[{s}]", _raw[s].Shape.ToArray());
            _gamma[s].Grad.Span[0] += (float)Dot(gradOutputs[s].Span, _raw[s].Span);
            _gradRaw[s].EnsureShape(_raw[s].Shape.ToArray());
            TensorPrimitives.Multiply(gradOutputs[s].Span, _gamma[s].Value.Span[0], _gradRaw[s].Span);
        }

        CopyInto(_convOut[0].Backward(_gradRaw[0]), _gradAct[0]);
        CopyInto(_convOut[1].Backward(_gradRaw[1]), _gradAct[1]);
        CopyInto(_convOut[2].Backward(_gradRaw[2]), _gradAct[2]);

        UpsampleBackwardAccumulate(_upConv10.Backward(_gradRaw[0]), _gradAct[1], ref _upTable1);
        AddInto(_downConv01.Backward(_gradRaw[1]), _gradAct[0]);
        UpsampleBackwardAccumulate(_upConv21.Backward(_gradRaw[1]), _gradAct[2], ref _upTable2);
        AddInto(_downConv12.Backward(_gradRaw[2]), _gradAct[1]);

        var gradInputs = new Tensor[3];
        for (int s = 0; s < 3; s++)
        {
            gradInputs[s] = _convIn[s].Backward(_act[s].Backward(_gradAct[s]));
        }
        return gradInputs;
    }

    /// <summary>Checks that <paramref name="t"/> holds three NCHW tensors of one batch whose sizes halve exactly from scale to scale.</summary>
    internal static void CheckScales(IReadOnlyList<Tensor> t, int channels, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.Count != 3) throw new ArgumentException($"'{name}' must hold 3 tensors (scales 0, 1, 2) but holds {t.Count}.", name);
        for (int s = 0; s < 3; s++)
        {
            t[s].CheckRank4($"{name}[{s}]");
            if (t[s].C != channels) throw new ArgumentException($"'{name}[{s}]' has shape {t[s]} but {channels} channels were expected.", name);
            if (t[s].N != t[0].N) throw new ArgumentException($"'{name}[{s}]' has shape {t[s]} but the batch of scale 0 is {t[0].N}.", name);
        }
        for (int s = 1; s < 3; s++)
        {
            if (t[s - 1].H != 2 * t[s].H || t[s - 1].W != 2 * t[s].W)
            {
                throw new ArgumentException(
                    $"'{name}': scale {s - 1} is {t[s - 1].H}x{t[s - 1].W} and scale {s} is {t[s].H}x{t[s].W}; each scale must be exactly half the previous one " +
                    "(use an input size whose feature map at scale 0 is divisible by 4).", name);
            }
        }
    }

    // 2× bilinear upsampling of every plane on the engine's workers, with the coordinate table of each site computed once per shape.
    private static void Upsample(Tensor source, Tensor destination, ref BilinearTable? table)
    {
        int n = source.N, c = source.C, h = source.H, w = source.W;
        destination.EnsureShape(n, c, 2 * h, 2 * w);
        BilinearTable t = table = BilinearTable.For(table, h, w, 2 * h, 2 * w);
        FlowParallel.For(n * c, 16 * h * w, nc => t.Forward(source.Plane(nc / c, nc % c), destination.Plane(nc / c, nc % c)));
    }

    private static void UpsampleBackwardAccumulate(Tensor gradUpsampled, Tensor gradSource, ref BilinearTable? table)
    {
        int c = gradSource.C, h = gradSource.H, w = gradSource.W;
        BilinearTable t = table = BilinearTable.For(table, h, w, 2 * h, 2 * w);
        FlowParallel.For(gradSource.N * c, 16 * h * w, nc => t.BackwardAccumulate(gradUpsampled.Plane(nc / c, nc % c), gradSource.Plane(nc / c, nc % c)));
    }

    private static void CopyInto(Tensor source, Tensor destination)
    {
        destination.EnsureShape(source.Shape.ToArray());
        source.Span.CopyTo(destination.Span);
    }

    private static void AddInto(Tensor source, Tensor destination)
    {
        if (!destination.SameShape(source.Shape))
        {
            throw new InvalidOperationException($"Cross-scale terms disagree in shape: {source} vs {destination}.");
        }
        TensorPrimitives.Add(destination.Span, source.Span, destination.Span);
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }
}
