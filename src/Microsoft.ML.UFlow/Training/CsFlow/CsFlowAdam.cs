using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Adam with classic L2 weight decay, the operations of PyTorch's single-tensor implementation (and of TorchSharp's
/// <c>torch.optim.Adam</c>) in the same order: g ← grad + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g·g;
/// p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε) (METHOD.md C.3 with v1's <c>CsFlowTrainerOptions</c>).
/// </summary>
/// <remarks>
/// Written here rather than taken from TorchSharp because TorchSharp 0.107's optimisers pass their coefficients as
/// implicitly converted <see cref="Scalar"/>s that nothing keeps alive: the finalizer can free one while libtorch still
/// reads it ("Unknown scalar type" in <c>Adam.step</c>, seen here under a parallel test load; dotnet/TorchSharp#1434).
/// Every scalar operand below is held in a local until the step ends. Owns its moment tensors: dispose it.
/// </remarks>
internal sealed class CsFlowAdam : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private bool _disposed;

    /// <summary>Creates the optimiser with zero moments.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A coefficient is out of its range.</exception>
    public CsFlowAdam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(lr > 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "The learning rate must be positive.");
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β1 must be in [0, 1).");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β2 must be in [0, 1).");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "ε must be positive.");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "The weight decay must not be negative.");
        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = eps;
        WeightDecay = weightDecay;
        _parameters = parameters.ToArray();
        _expAvg = _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
        _expAvgSq = _parameters.Select(p => torch.zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>The L2 weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Steps taken (t).</summary>
    public int StepCount { get; internal set; }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The first moments m, one per parameter (for checkpoints).</summary>
    internal IReadOnlyList<Tensor> FirstMoments => _expAvg;

    /// <summary>The second moments v, one per parameter (for checkpoints).</summary>
    internal IReadOnlyList<Tensor> SecondMoments => _expAvgSq;

    /// <summary>Applies one update from the parameters' gradients (parameters without a gradient are left alone).</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StepCount++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);
        double biasCorrection2 = 1 - Math.Pow(Beta2, StepCount);
        using Scalar beta1 = Beta1, oneMinusBeta1 = 1 - Beta1, beta2 = Beta2, oneMinusBeta2 = 1 - Beta2, weightDecay = WeightDecay;
        using Scalar biasCorrection2Sqrt = Math.Sqrt(biasCorrection2), eps = Epsilon, negativeStepSize = -(LearningRate / biasCorrection1);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            Parameter p = _parameters[i];
            Tensor? grad = p.grad;
            if (grad is null) continue;
            if (WeightDecay != 0) grad = grad.add(p, weightDecay);
            _expAvg[i].mul_(beta1).add_(grad, oneMinusBeta1);
            _expAvgSq[i].mul_(beta2).addcmul_(grad, grad, oneMinusBeta2);
            Tensor denominator = _expAvgSq[i].sqrt().div_(biasCorrection2Sqrt).add_(eps, HeldScalars.One);
            p.addcdiv_(_expAvg[i], denominator, negativeStepSize);
        }
    }

    /// <summary>Frees the moments (idempotent).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (Tensor t in _expAvg) t.Dispose();
        foreach (Tensor t in _expAvgSq) t.Dispose();
    }
}
