using System.Diagnostics;
using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Training;
using TorchSharp;

namespace Microsoft.ML.UFlow.Benchmarks.Quality;

/// <summary>Every metric of one evaluation of the flow on the test split (METHOD.md Part B, A.7.8).</summary>
internal sealed record QualityMetrics(
    double ImageAuroc,
    double PixelAuroc,
    double Aupro,
    double F1Max,
    double MeanIouNfa,
    double OracleMeanIou,
    double OracleThreshold,
    double WideOracleMeanIou,
    double WideOracleThreshold,
    double DefectiveMeanIou,
    double DefectivePrecision,
    double DefectiveRecall,
    int NormalImagesWithDetection,
    int NormalImages,
    int AnomalousImagesWithDetection,
    int AnomalousImages,
    double[] NormalMeanSquarePerScale,
    IReadOnlyList<DefectTypeMetrics> ByDefectType,
    double Seconds);

/// <summary>
/// Evaluates a flow on cached test features: anomaly map at 256×256 (A.6) for image AUROC (max of the map), pixel AUROC,
/// AUPRO (FPR ≤ 0.3) and F1-max; the tree NFA (A.7) with the automatic threshold log10 NFA &lt; 0 for mIoU (U-Flow
/// definition, every test image counts) and the false-alarm count on normal images; the oracle mIoU over −log10 NFA
/// thresholds −400…1000; and the latent calibration mean(z²) per scale over the normal test images. Diagnostics beyond
/// the paper: the best mIoU over a wider grid, −10000…1000 in steps of 10 (the paper's grid cannot reach thresholds
/// below log10 N_T − 400, and log10 N_T is 7636 for ResNet at 448), and the precision, recall and mean IoU of the
/// automatic segmentation on the defective images (<see cref="SegmentationOverlap"/>), also per defect type
/// (<see cref="DefectTypeBreakdown"/>).
/// </summary>
internal sealed class QualityEvaluator(QualityFeatureSet test, int evaluationSize, int batchSize, bool oracle, bool underDispersionGuard = false)
{
    private readonly NfaSegmenter _segmenter = new(new NfaSegmentationOptions { OutputSize = evaluationSize, UnderDispersionGuard = underDispersionGuard });
    private readonly Tensor[] _batch = test.Scales.Select(_ => new Tensor(1)).ToArray();
    private readonly Tensor _map = new(1);
    private readonly float[] _nfa = new float[evaluationSize * evaluationSize];
    private readonly bool[] _mask = new bool[evaluationSize * evaluationSize];

    /// <summary>
    /// Evaluates the flow's current weights (forward passes without gradients, on the flow's device). With
    /// <paramref name="nfaFactors"/> (the held-out calibration, 1/√s_l per scale) the latents are multiplied by them after
    /// the anomaly map is computed: the NFA, its metrics and the normal images' mean z² are those of the calibrated latents.
    /// </summary>
    public QualityMetrics Evaluate(UFlowModule flow, IReadOnlyList<float>? nfaFactors = null)
    {
        var clock = Stopwatch.StartNew();
        float[][] masks = test.Masks ?? throw new InvalidOperationException("The test split has no masks.");
        var images = new ImageScoreEvaluator();
        var pixels = new PixelEvaluator();
        var iou = new MeanIouAccumulator();
        MeanIouSweep? sweep = oracle ? MeanIouSweep.ForNegativeLogNfa() : null;
        MeanIouSweep? wideSweep = oracle ? new MeanIouSweep(Enumerable.Range(0, 1101).Select(i => -10000.0 + 10 * i)) : null;
        var extent = new SegmentationOverlap();
        var byType = new DefectTypeBreakdown();
        int scales = test.Scales.Length;
        var sumSquares = new double[scales];
        var valueCounts = new long[scales];
        int normal = 0, normalDetected = 0, anomalous = 0, anomalousDetected = 0;
        int s = evaluationSize;
        for (int start = 0; start < test.Count; start += batchSize)
        {
            int b = Math.Min(batchSize, test.Count - start);
            for (int l = 0; l < scales; l++)
            {
                Tensor src = test.Scales[l];
                Tensor dst = _batch[l].EnsureShape(b, src.C, src.H, src.W);
                for (int i = 0; i < b; i++) src.Sample(start + i).CopyTo(dst.Sample(i));
            }
            IReadOnlyList<Tensor> latents = Forward(flow);
            AnomalyMap.Compute(latents, s, s, _map);
            if (nfaFactors is not null) LatentCalibrationFactors.Apply(latents, nfaFactors);
            for (int i = 0; i < b; i++)
            {
                int index = start + i;
                bool isAnomalous = test.Items[index].IsAnomalous;
                ReadOnlySpan<float> scores = _map.Sample(i);
                float[] gt = masks[index];
                pixels.Add(scores, gt, s, s);
                float score = TensorPrimitives.Max(scores);
                images.Add(score, isAnomalous);
                NfaImageResult nfa = _segmenter.Segment(latents, i, _nfa, _mask);
                byType.Add(test.Items[index].DefectType, isAnomalous, score, flagged: null, _mask, gt);
                iou.Add(_mask, gt);
                sweep?.Add(_nfa, gt);
                wideSweep?.Add(_nfa, gt);
                if (isAnomalous)
                {
                    anomalous++;
                    extent.Add(_mask, gt);
                    if (nfa.IsAnomalous) anomalousDetected++;
                }
                else
                {
                    normal++;
                    if (nfa.IsAnomalous) normalDetected++;
                    for (int l = 0; l < scales; l++)
                    {
                        ReadOnlySpan<float> z = latents[l].Sample(i);
                        sumSquares[l] += LatentStatistics.MeanSquare(z) * z.Length;
                        valueCounts[l] += z.Length;
                    }
                }
            }
        }
        PixelMetrics p = pixels.Compute();
        (double oracleThreshold, double oracleIou) = sweep?.Best() ?? (double.NaN, double.NaN);
        (double wideThreshold, double wideIou) = wideSweep?.Best() ?? (double.NaN, double.NaN);
        double[] calibration = sumSquares.Select((v, l) => valueCounts[l] == 0 ? double.NaN : v / valueCounts[l]).ToArray();
        return new QualityMetrics(
            images.ComputeAuroc(), p.Auroc, p.Aupro, p.F1Max, iou.Mean, oracleIou, oracleThreshold, wideIou, wideThreshold,
            extent.MeanIou, extent.Precision, extent.Recall,
            normalDetected, normal, anomalousDetected, anomalous, calibration, byType.Compute(), clock.Elapsed.TotalSeconds);
    }

    // The flow's latents for the batch in _batch, copied to host tensors (the scoring code's input).
    private Tensor[] Forward(UFlowModule flow)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var features = _batch.Select(t => HostTensorCopy.ToTorch(t, flow.Device)).ToArray();
        return flow.call(features).Latents.Select(HostTensorCopy.ToHost).ToArray();
    }
}
