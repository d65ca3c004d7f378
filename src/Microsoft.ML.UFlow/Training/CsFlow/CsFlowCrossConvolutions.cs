using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// CS-Flow's cross-scale subnetwork ("CrossConvolutions", METHOD.md C.2) as a TorchSharp module: three inputs
/// (scales 0, 1, 2, each half the size of the previous) to three outputs of the same sizes,
/// <code>
/// h_s = LeakyReLU_0.1(conv_in{s}(x_s))
/// o_0 = gamma0 · (conv_out0(h_0) + up_conv10(Up(h_1)))
/// o_1 = gamma1 · (conv_out1(h_1) + down_conv01(h_0) + up_conv21(Up(h_2)))
/// o_2 = gamma2 · (conv_out2(h_2) + down_conv12(h_1))
/// </code>
/// with k×k convolutions (bias, zero padding k/2; the down convolutions stride 2), Up = bilinear ×2 with
/// align_corners = False, and γ starting at 0. Parameter names are the official ones (<c>conv_in0.weight</c>, …,
/// <c>up_conv10.bias</c>, <c>gamma0</c>), as in v1's <c>CrossScaleSubnet</c> and <c>test/golden/csflow_parity.py</c>.
/// </summary>
internal sealed class CsFlowCrossConvolutions : nn.Module<Tensor[], Tensor[]>
{
    /// <summary>The LeakyReLU slope of the official code.</summary>
    public const double LeakySlope = 0.1;

    [ComponentName(Name = "conv_in0")] private readonly Conv2d _convIn0;
    [ComponentName(Name = "conv_in1")] private readonly Conv2d _convIn1;
    [ComponentName(Name = "conv_in2")] private readonly Conv2d _convIn2;
    [ComponentName(Name = "conv_out0")] private readonly Conv2d _convOut0;
    [ComponentName(Name = "conv_out1")] private readonly Conv2d _convOut1;
    [ComponentName(Name = "conv_out2")] private readonly Conv2d _convOut2;
    [ComponentName(Name = "up_conv10")] private readonly Conv2d _upConv10;
    [ComponentName(Name = "up_conv21")] private readonly Conv2d _upConv21;
    [ComponentName(Name = "down_conv01")] private readonly Conv2d _downConv01;
    [ComponentName(Name = "down_conv12")] private readonly Conv2d _downConv12;
    [ComponentName(Name = "gamma0")] private readonly Parameter _gamma0;
    [ComponentName(Name = "gamma1")] private readonly Parameter _gamma1;
    [ComponentName(Name = "gamma2")] private readonly Parameter _gamma2;
    private readonly Scalar _slope = LeakySlope; // held: see HeldScalars

    /// <summary>
    /// Creates the subnetwork with PyTorch's default convolution initialisation drawn from <paramref name="generator"/>
    /// (in the order conv_in0..2, conv_out0..2, up_conv10, up_conv21, down_conv01, down_conv12; weight then bias, as
    /// <c>nn.Conv2d</c> would under the same seed) and γ = 0.
    /// </summary>
    /// <param name="inChannels">Channels of every input scale.</param>
    /// <param name="outChannels">Channels of every output scale.</param>
    /// <param name="hiddenChannels">Width of the hidden layer (1024 in CS-Flow).</param>
    /// <param name="kernelSize">Odd kernel size of every convolution.</param>
    /// <param name="generator">The CPU generator the initial weights are drawn from.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the kernel size is even.</exception>
    public CsFlowCrossConvolutions(int inChannels, int outChannels, int hiddenChannels, int kernelSize, Generator generator)
        : base(nameof(CsFlowCrossConvolutions))
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenChannels);
        if (kernelSize < 1 || kernelSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The kernel size must be odd and positive.");
        in_channels = inChannels;
        out_channels = outChannels;
        hidden_channels = hiddenChannels;
        kernel_size = kernelSize;
        _convIn0 = Conv(inChannels, hiddenChannels, 1, generator);
        _convIn1 = Conv(inChannels, hiddenChannels, 1, generator);
        _convIn2 = Conv(inChannels, hiddenChannels, 1, generator);
        _convOut0 = Conv(hiddenChannels, outChannels, 1, generator);
        _convOut1 = Conv(hiddenChannels, outChannels, 1, generator);
        _convOut2 = Conv(hiddenChannels, outChannels, 1, generator);
        _upConv10 = Conv(hiddenChannels, outChannels, 1, generator);
        _upConv21 = Conv(hiddenChannels, outChannels, 1, generator);
        _downConv01 = Conv(hiddenChannels, outChannels, 2, generator);
        _downConv12 = Conv(hiddenChannels, outChannels, 2, generator);
        _gamma0 = new Parameter(torch.zeros(1));
        _gamma1 = new Parameter(torch.zeros(1));
        _gamma2 = new Parameter(torch.zeros(1));
        RegisterComponents();
    }

    /// <summary>Channels of every input scale.</summary>
    public int in_channels { get; }

    /// <summary>Channels of every output scale.</summary>
    public int out_channels { get; }

    /// <summary>Width of the hidden layer.</summary>
    public int hidden_channels { get; }

    /// <summary>Kernel size of every convolution.</summary>
    public int kernel_size { get; }

    /// <summary>Number of trainable values of one subnetwork with these sizes (3 input and 7 output convolutions, 3 γ).</summary>
    public static long CountParameters(int inChannels, int outChannels, int hiddenChannels, int kernelSize)
    {
        long k2 = (long)kernelSize * kernelSize;
        return 3 * ((long)inChannels * hiddenChannels * k2 + hiddenChannels) + 7 * ((long)hiddenChannels * outChannels * k2 + outChannels) + 3;
    }

    /// <summary>Maps the three scales (N×in×H×W, H/2, H/4) to three outputs (N×out×H×W, H/2, H/4).</summary>
    public override Tensor[] forward(Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != 3) throw new ArgumentException($"Three scales are expected, got {inputs.Length}.", nameof(inputs));
        Tensor h0 = _convIn0.call(inputs[0]).leaky_relu(_slope);
        Tensor h1 = _convIn1.call(inputs[1]).leaky_relu(_slope);
        Tensor h2 = _convIn2.call(inputs[2]).leaky_relu(_slope);
        Tensor o0 = _convOut0.call(h0).Plus(_upConv10.call(Up(h1)));
        Tensor o1 = _convOut1.call(h1).Plus(_downConv01.call(h0)).Plus(_upConv21.call(Up(h2)));
        Tensor o2 = _convOut2.call(h2).Plus(_downConv12.call(h1));
        return [_gamma0 * o0, _gamma1 * o1, _gamma2 * o2];
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (Conv2d c in new[] { _convIn0, _convIn1, _convIn2, _convOut0, _convOut1, _convOut2, _upConv10, _upConv21, _downConv01, _downConv12 }) c.Dispose();
            _gamma0.Dispose();
            _gamma1.Dispose();
            _gamma2.Dispose();
            _slope.Dispose();
        }
        base.Dispose(disposing);
    }

    // Bilinear ×2, align_corners = False (the size is given, so the source coordinate is (dst + 0.5) / 2 − 0.5 exactly).
    private static Tensor Up(Tensor x) => F.interpolate(x, size: [2 * x.shape[2], 2 * x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);

    private Conv2d Conv(int cin, int cout, int stride, Generator generator)
    {
        int k = kernel_size;
        Conv2d conv = nn.Conv2d(cin, cout, k, stride: stride, padding: k / 2);
        // nn.Conv2d's reset_parameters as PyTorch writes it: kaiming_uniform_(a = √5) for the weight, i.e. uniform in
        // ±√3·gain/√fan_in with gain = √(2 / (1 + 5)), then the bias uniform in ±1/√fan_in; drawn from our generator.
        double fanIn = (double)cin * k * k;
        double weightBound = Math.Sqrt(3.0) * (Math.Sqrt(2.0 / (1 + 5)) / Math.Sqrt(fanIn));
        double biasBound = 1 / Math.Sqrt(fanIn);
        using (torch.no_grad())
        {
            // Tensor.uniform_ rather than nn.init.uniform_, which does not pass the generator on.
            conv.weight!.uniform_(-weightBound, weightBound, generator);
            conv.bias!.uniform_(-biasBound, biasBound, generator);
        }
        return conv;
    }
}
