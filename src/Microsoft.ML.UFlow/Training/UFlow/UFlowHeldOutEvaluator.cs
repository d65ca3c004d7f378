using static TorchSharp.torch;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Evaluates a <see cref="UFlowModule"/> on held-out normal images (<see cref="HeldOutEvaluation"/>): forward passes without
/// gradients, a batch at a time, each inside its own dispose scope; only doubles leave the device.
/// </summary>
internal sealed class UFlowHeldOutEvaluator
{
    private readonly IFeatureBatchSource _source;
    private readonly int _batchSize;
    private readonly HostTensor[] _batch;

    /// <summary>Evaluates on every sample of <paramref name="source"/>, <paramref name="batchSize"/> at a time.</summary>
    public UFlowHeldOutEvaluator(IFeatureBatchSource source, int scales, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Count == 0) throw new ArgumentException("The held-out source has no samples.", nameof(source));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _source = source;
        _batchSize = batchSize;
        _batch = Enumerable.Range(0, scales).Select(_ => new HostTensor(1)).ToArray();
    }

    /// <summary>The number of held-out samples.</summary>
    public int Count => _source.Count;

    /// <summary>The mean loss and the mean z² per scale of <paramref name="flow"/>'s current weights.</summary>
    public HeldOutEvaluation Evaluate(UFlowModule flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        int n = _source.Count, scales = _batch.Length;
        double lossSum = 0;
        var squares = new double[scales];
        var values = new long[scales];
        int[] indices = new int[Math.Min(_batchSize, n)];
        for (int start = 0; start < n; start += _batchSize)
        {
            int count = Math.Min(_batchSize, n - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            _source.ReadBatch(indices.AsSpan(0, count), _batch);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var features = _batch.Select(t => HostTensorCopy.ToTorch(t, flow.Device)).ToArray();
            (Tensor[] latents, Tensor logDet) = flow.call(features);
            lossSum += UFlowTorchLoss.PerSample(latents, logDet).to_type(ScalarType.Float64).sum().item<double>();
            for (int l = 0; l < scales; l++)
            {
                squares[l] += latents[l].to_type(ScalarType.Float64).square().sum().item<double>();
                values[l] += latents[l].numel();
            }
        }
        return new HeldOutEvaluation(n, lossSum / n, squares.Select((s, l) => s / values[l]).ToArray());
    }
}
