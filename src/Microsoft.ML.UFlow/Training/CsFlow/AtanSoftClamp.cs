using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// CS-Flow's soft clamp of the log-scale (METHOD.md C.2): σ(h) = α · 0.636 · atan(h / α), computed as the official
/// code writes it (<c>alpha * 0.636 * torch.atan(h / alpha)</c>, with the literal 0.636 rather than 2/π).
/// </summary>
internal sealed class AtanSoftClamp : ParameterLessModule<Tensor, Tensor>
{
    // Held for the module's lifetime (see HeldScalars).
    private readonly Scalar _alpha;
    private readonly Scalar _gain;

    /// <summary>The constant the official code uses in place of 2/π.</summary>
    public const double TwoOverPi = 0.636;

    /// <summary>Creates the clamp.</summary>
    /// <param name="alpha">α, positive and finite (3 in CS-Flow).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not positive and finite.</exception>
    public AtanSoftClamp(double alpha)
        : base(nameof(AtanSoftClamp))
    {
        if (!(alpha > 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The clamp α must be positive and finite.");
        this.alpha = alpha;
        _alpha = alpha;
        _gain = alpha * TwoOverPi;
    }

    /// <summary>α.</summary>
    public double alpha { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => torch.atan(input.div(_alpha)).mul(_gain);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _alpha.Dispose();
            _gain.Dispose();
        }
        base.Dispose(disposing);
    }
}
