using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// One U-Flow flow step on TorchSharp: FrEIA's <c>AllInOneBlock</c> as pinned by U-Flow (METHOD.md A.3.3–A.3.4).
/// Affine coupling of the channels [C1, C) given the first C1 = C − ⌊C/2⌋ through
/// <c>subnet</c> = Conv(k)→ReLU→Conv(k) scaled by 0.1, soft clamp j = α·tanh(s) (the pinned form, not α·tanh(s/α)),
/// then the global affine v = u·(0.1·softplus_{β=0.5}(g)) + offset, then the fixed permutation out[:, c] = v[:, perm[c]].
/// </summary>
/// <remarks>
/// <para>Parameters (names as v1's managed <c>FlowStep</c> and the official state dict): <c>subnet.0.weight</c>
/// (C1×C1·ratio×k×k), <c>subnet.0.bias</c>, <c>subnet.2.weight</c> (2·C2×hidden×k×k), <c>subnet.2.bias</c>,
/// <c>global_scale</c> (C, the raw g), <c>global_offset</c> (C); buffer <c>perm</c> (C, int64).</para>
/// <para>The forward pass returns the output and this step's per-sample log|det J| =
/// Σ_{c&lt;C2,h,w} j + H·W·Σ_c ln(scale_c) (A.3.3 item 7).</para>
/// </remarks>
internal sealed class FlowStepModule : nn.Module<Tensor, (Tensor Output, Tensor LogDet)>
{
    /// <summary>FrEIA's fixed 0.1 factor on the subnet output.</summary>
    public const double SubnetOutputScale = 0.1;

    /// <summary>β of the global scale's softplus (FrEIA's AllInOneBlock).</summary>
    public const double SoftplusBeta = 0.5;

    /// <summary>PyTorch's softplus threshold: above β·g = 20 the softplus is g itself.</summary>
    public const double SoftplusThreshold = 20;

    /// <summary>The initial raw global scale g₀ = 2·ln(e⁵ − 1), for which 0.1·softplus_{0.5}(g₀) = 1.</summary>
    public static readonly float GlobalScaleInit = (float)(2.0 * Math.Log(Math.Exp(5.0) - 1.0));

    [ComponentName(Name = "subnet")]
    private readonly Sequential _subnet;

    // The subnet's convolutions (also held, and registered, by _subnet; an array field is not registered again).
    private readonly Conv2d[] _convs;

    // Not readonly: Module.to(device) replaces parameters and buffers through these fields.
    [ComponentName(Name = "global_scale")]
    private Parameter _globalScale;

    [ComponentName(Name = "global_offset")]
    private Parameter _globalOffset;

    [ComponentName(Name = "perm")]
    private Tensor _perm;

    // Scalar operands held for the module's lifetime (see HeldScalars): the 0.1 factor, α, and softplus's β and threshold.
    private readonly Scalar _outputScale = SubnetOutputScale, _clamp, _softplusBeta = SoftplusBeta, _softplusThreshold = SoftplusThreshold;

    /// <summary>
    /// Creates a step on <paramref name="channels"/> channels with subnet kernel <paramref name="kernelSize"/> on the CPU.
    /// The subnet gets PyTorch's default Conv2d initialisation (weights and biases uniform in ±1/√fan_in) and the
    /// permutation is a <c>randperm</c>, all drawn from <paramref name="generator"/> in that order.
    /// </summary>
    public FlowStepModule(int channels, int kernelSize, Generator generator, double subnetChannelsRatio = 1.0, float affineClamp = 2.0f, string name = "FlowStep")
        : base(name)
    {
        if (channels < 2) throw new ArgumentOutOfRangeException(nameof(channels), channels, "A flow step needs at least 2 channels.");
        if (kernelSize < 1 || kernelSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "The subnet kernel must be odd (\"same\" padding).");
        ArgumentNullException.ThrowIfNull(generator);
        Channels = channels;
        PassiveChannels = channels - channels / 2;
        ActiveChannels = channels / 2;
        HiddenChannels = (int)(PassiveChannels * subnetChannelsRatio);
        if (HiddenChannels < 1) throw new ArgumentOutOfRangeException(nameof(subnetChannelsRatio), subnetChannelsRatio, "The subnet would have no hidden channels.");
        KernelSize = kernelSize;
        AffineClamp = affineClamp;
        _clamp = affineClamp;

        // The module owns its tensors: none may belong to a dispose scope the caller happens to be in.
        using (var scope = NewDisposeScope())
        using (no_grad())
        using (Scalar globalScaleInit = GlobalScaleInit)
        {
            var conv1 = nn.Conv2d(PassiveChannels, HiddenChannels, kernelSize, padding: kernelSize / 2);
            var conv2 = nn.Conv2d(HiddenChannels, 2 * ActiveChannels, kernelSize, padding: kernelSize / 2);
            InitConv(conv1, generator);
            InitConv(conv2, generator);
            _subnet = nn.Sequential(conv1, nn.ReLU(), conv2);
            _convs = [conv1, conv2];
            _globalScale = (Parameter)new Parameter(full(channels, globalScaleInit)).DetachFromDisposeScope();
            _globalOffset = (Parameter)new Parameter(zeros(channels)).DetachFromDisposeScope();
            _perm = randperm(channels, generator: generator).DetachFromDisposeScope();
        }
        RegisterComponents();
    }

    /// <summary>C, the number of channels in and out.</summary>
    public int Channels { get; }

    /// <summary>C1 = C − ⌊C/2⌋, the channels that condition the coupling and pass through unchanged.</summary>
    public int PassiveChannels { get; }

    /// <summary>C2 = ⌊C/2⌋, the channels transformed by the coupling.</summary>
    public int ActiveChannels { get; }

    /// <summary>Hidden width of the subnet, int(C1 · ratio).</summary>
    public int HiddenChannels { get; }

    /// <summary>Subnet kernel size (3 or 1 in U-Flow).</summary>
    public int KernelSize { get; }

    /// <summary>α of the soft clamp α·tanh(s).</summary>
    public float AffineClamp { get; }

    /// <summary>The raw global scale g (length C); the applied scale is 0.1·softplus_{β=0.5}(g).</summary>
    public Parameter GlobalScale => _globalScale;

    /// <summary>The global offset (length C).</summary>
    public Parameter GlobalOffset => _globalOffset;

    /// <summary>The permutation as int64 indices: out[:, c] = v[:, perm[c]].</summary>
    public Tensor Permutation => _perm;

    /// <summary>
    /// The state entries in a fixed order: <c>subnet.0.weight</c>, <c>subnet.0.bias</c>, <c>subnet.2.weight</c>,
    /// <c>subnet.2.bias</c>, <c>global_scale</c>, <c>global_offset</c>, <c>perm</c>.
    /// </summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateEntries()
    {
        foreach (string name in (string[])["subnet.0.weight", "subnet.0.bias", "subnet.2.weight", "subnet.2.bias"])
        {
            yield return (name, get_parameter(name) ?? throw new InvalidOperationException($"Flow step '{GetName()}' has no parameter '{name}'."));
        }
        yield return ("global_scale", _globalScale);
        yield return ("global_offset", _globalOffset);
        yield return ("perm", _perm);
    }

    /// <summary>y = step(x) for x of shape N×C×H×W, and each sample's log|det J| (shape N).</summary>
    /// <remarks>
    /// Computed in a form that touches the activations fewer times than the textbook order (the CPU's memory bandwidth,
    /// not its arithmetic, bounds these element-wise steps), with the same result up to float rounding: the 0.1 factor
    /// and, for the t half, the active channels' global affine are folded into the second convolution's weights and bias
    /// (small tensors); the active channels' scale enters the exponent as ln scale; the passive half's affine is one
    /// fused multiply-add; the permutation scatters both halves straight into the output (no concatenation).
    /// </remarks>
    public override (Tensor Output, Tensor LogDet) forward(Tensor x)
    {
        if (x.ndim != 4 || x.shape[1] != Channels)
            throw new ArgumentException($"Flow step '{GetName()}' expects N×{Channels}×H×W input; got [{string.Join(", ", x.shape)}].", nameof(x));
        using var scope = NewDisposeScope();
        int c1 = PassiveChannels, c2 = ActiveChannels;
        Tensor scale = AppliedScale();
        Tensor logScale = scale.log();
        // split, not two narrows: its backward is one concatenation instead of a zero-filled full-size gradient per view.
        Tensor[] halves = x.split([c1, c2], 1);
        Tensor x1 = halves[0], x2 = halves[1];

        // a = 0.1·conv2(h); t' = t·scale₂ + offset₂ comes straight out of the convolution.
        Conv2d conv2 = _convs[1];
        Tensor w2 = conv2.weight, b2 = conv2.bias!;
        Tensor tScale = scale.narrow(0, c1, c2).mul(_outputScale);
        Tensor weight = cat([w2.narrow(0, 0, c2).mul(_outputScale), w2.narrow(0, c2, c2).mul(tScale.view(c2, 1, 1, 1))], 0);
        Tensor bias = cat([b2.narrow(0, 0, c2).mul(_outputScale), b2.narrow(0, c2, c2).mul(tScale).Plus(_globalOffset.narrow(0, c1, c2))], 0);
        Tensor hidden = nn.functional.relu(_convs[0].call(x1));
        Tensor a = nn.functional.conv2d(hidden, weight, bias, padding: [KernelSize / 2, KernelSize / 2]);

        // j = α·tanh(s); y2' = (x2·e^j + t)·scale₂ + offset₂ = x2·e^(j + ln scale₂) + t'.
        Tensor[] st = a.split([c2, c2], 1);
        Tensor tanhS = st[0].tanh();
        Tensor growth = logScale.narrow(0, c1, c2).view(1, c2, 1, 1).add(tanhS, _clamp).exp_();
        Tensor y2 = st[1].addcmul(x2, growth, HeldScalars.One);
        Tensor v1 = _globalOffset.narrow(0, 0, c1).view(1, c1, 1, 1).addcmul(x1, scale.narrow(0, 0, c1).view(1, c1, 1, 1), HeldScalars.One);

        // out[:, c] = v[:, perm[c]]: channel i of v goes to output channel perm⁻¹(i).
        Tensor inverse = _perm.argsort();
        Tensor output = empty_like(x).index_copy_(1, inverse.narrow(0, 0, c1), v1).index_copy_(1, inverse.narrow(0, c1, c2), y2);
        using Scalar positions = x.shape[2] * x.shape[3];
        Tensor logDet = tanhS.sum([1, 2, 3]).mul(_clamp).Plus(logScale.sum().mul(positions));
        return scope.MoveToOuter(output, logDet);
    }

    /// <summary>x = step⁻¹(y) and each sample's log|det J| of the forward pass (so that adding both gives 0).</summary>
    public (Tensor Input, Tensor LogDet) inverse(Tensor y)
    {
        using var scope = NewDisposeScope();
        int c1 = PassiveChannels, c2 = ActiveChannels;
        long[] channelShape = [1, Channels, 1, 1];
        Tensor scale = AppliedScale();
        Tensor v = empty_like(y).index_copy_(1, _perm, y);
        Tensor u = v.sub(_globalOffset.view(channelShape)).div(scale.view(channelShape));
        Tensor x1 = u.narrow(1, 0, c1);
        Tensor a = _subnet.call(x1).mul(_outputScale);
        Tensor j = a.narrow(1, 0, c2).tanh().mul(_clamp);
        Tensor x2 = u.narrow(1, c1, c2).sub(a.narrow(1, c2, c2)).mul(j.neg().exp());
        Tensor input = cat([x1, x2], 1);
        using Scalar positions = y.shape[2] * y.shape[3];
        Tensor logDet = j.sum([1, 2, 3]).Plus(scale.log().sum().mul(positions));
        return scope.MoveToOuter(input, logDet);
    }

    /// <summary>
    /// 0.1·softplus_{β=0.5}(g), with PyTorch's threshold: g itself where β·g &gt; 20, ln(1 + e^{β·g})/β elsewhere (its
    /// kernel's arithmetic). Written out because TorchSharp's <c>softplus</c> turns β and the threshold into scalars
    /// that nothing holds; the clamp keeps e^{β·g} finite where the other branch is taken, so no NaN reaches the gradient.
    /// </summary>
    internal Tensor AppliedScale()
    {
        using var scope = NewDisposeScope();
        Tensor scaled = _globalScale.mul(_softplusBeta);
        Tensor soft = scaled.clamp_max(_softplusThreshold).exp().log1p().div(_softplusBeta);
        return scope.MoveToOuter(where(scaled.gt(_softplusThreshold), _globalScale, soft).mul(_outputScale));
    }

    /// <summary>PyTorch's Conv2d default: kaiming_uniform(a = √5) = uniform ±1/√fan_in for the weight, the same bound for the bias.</summary>
    private static void InitConv(Conv2d conv, Generator generator)
    {
        Parameter weight = conv.weight;
        double bound = 1.0 / Math.Sqrt(weight.shape[1] * weight.shape[2] * weight.shape[3]);
        weight.uniform_(-bound, bound, generator);
        conv.bias!.uniform_(-bound, bound, generator);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        // The base class disposes this module's own parameters and buffers.
        if (disposing)
        {
            _subnet.Dispose();
            _outputScale.Dispose();
            _clamp.Dispose();
            _softplusBeta.Dispose();
            _softplusThreshold.Dispose();
        }
        base.Dispose(disposing);
    }
}
