using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Adam with classic L2 weight decay, the operations of PyTorch's single-tensor implementation (and of TorchSharp's
/// <c>torch.optim.Adam</c>) in the same order: g ← grad + wd·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g·g;
/// p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε). The optimiser of both flows: U-Flow (METHOD.md A.5: ε 1e-8, the
/// learning rate set per epoch by the LinearLR schedule) and CS-Flow (C.3: ε 1e-4, constant learning rate).
/// </summary>
/// <remarks>
/// Written here rather than taken from TorchSharp because TorchSharp 0.107's optimisers pass their coefficients as
/// implicitly converted <see cref="Scalar"/>s that nothing keeps alive: the finalizer can free one while libtorch still
/// reads it ("Unknown scalar type" in <c>Adam.step</c>, seen here under a parallel test load; dotnet/TorchSharp#1434).
/// Every scalar operand below is held in a local until the step ends (see <see cref="HeldScalars"/>). Its state (step
/// count and moments) is saved and read by the training checkpoints through <see cref="WriteState"/> and
/// <see cref="ReadState"/>. Owns its moment tensors: dispose it.
/// </remarks>
internal sealed class HeldScalarAdam : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private double _learningRate;
    private bool _disposed;

    /// <summary>Creates the optimiser with zero moments.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A coefficient is out of its range.</exception>
    public HeldScalarAdam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
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

    /// <summary>The learning rate of the next steps (a schedule may change it between steps).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive and finite.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value > 0) || !double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be positive and finite.");
            _learningRate = value;
        }
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; }

    /// <summary>β2.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Epsilon { get; }

    /// <summary>The L2 weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Steps taken (t).</summary>
    public int StepCount { get; private set; }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The first moments m, one per parameter.</summary>
    internal IReadOnlyList<Tensor> FirstMoments => _expAvg;

    /// <summary>The second moments v, one per parameter.</summary>
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

    /// <summary>
    /// Writes the step count, the number of parameters and per parameter its name and both moments (float32,
    /// row-major): the optimiser section of the training checkpoints.
    /// </summary>
    /// <param name="writer">The checkpoint being written.</param>
    /// <param name="names">The parameters' names, in <see cref="Parameters"/> order.</param>
    public void WriteState(BinaryWriter writer, IReadOnlyList<string> names)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(writer);
        RequireNames(names);
        writer.Write(StepCount);
        writer.Write(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            writer.Write(names[i]);
            FlowBinaryReader.WriteFloats(writer, HostTensorCopy.ToArray(_expAvg[i]));
            FlowBinaryReader.WriteFloats(writer, HostTensorCopy.ToArray(_expAvgSq[i]));
        }
    }

    /// <summary>
    /// Reads what <see cref="WriteState"/> wrote into this optimiser (on its parameters' devices): the saved names must
    /// be exactly <paramref name="names"/>, in any order, each once.
    /// </summary>
    /// <exception cref="InvalidDataException">The section is truncated, or its names or sizes do not fit the parameters (from <paramref name="reader"/>, naming the file).</exception>
    public void ReadState(FlowBinaryReader reader, IReadOnlyList<string> names)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(reader);
        RequireNames(names);
        Dictionary<string, int> index = names.Select((n, i) => (n, i)).ToDictionary(e => e.n, e => e.i, StringComparer.Ordinal);
        int steps = reader.ReadInt32("optimiser steps", 0, int.MaxValue);
        int saved = reader.ReadInt32("the number of optimiser states", 0, 1 << 20);
        if (saved != index.Count) throw reader.Bad($"it holds {saved} optimiser states for {index.Count} parameters");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < saved; i++)
        {
            string name = reader.ReadString("an optimiser state's name", 1024);
            if (!index.TryGetValue(name, out int k) || !seen.Add(name)) throw reader.Bad($"the optimiser state '{name}' belongs to no parameter or appears twice");
            ReadInto(reader, _expAvg[k], $"Adam's first moment of '{name}'");
            ReadInto(reader, _expAvgSq[k], $"Adam's second moment of '{name}'");
        }
        StepCount = steps;
    }

    /// <summary>Frees the moments (idempotent).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (Tensor t in _expAvg) t.Dispose();
        foreach (Tensor t in _expAvgSq) t.Dispose();
    }

    private void RequireNames(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count != _parameters.Length) throw new ArgumentException($"{names.Count} names were given for Adam's {_parameters.Length} parameters.", nameof(names));
    }

    private static void ReadInto(FlowBinaryReader reader, Tensor destination, string what)
    {
        var values = new float[destination.numel()];
        reader.ReadFloats(values, what);
        using Tensor source = HostTensorCopy.ToTorch(values, destination.shape, torch.CPU);
        using (torch.no_grad()) destination.copy_(source);
    }
}
