using System.Runtime.InteropServices;

namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// The metrics of a test set split by defect type, so that an inspection engineer sees which kinds of defect a model
/// misses: per type, the image AUROC against all normal images, the images flagged at the model's threshold, and how
/// the segmentation masks overlap the ground truth (<see cref="SegmentationOverlap"/>). Normal images form their own
/// group(s), where flagged images and detections are false alarms. Either every image comes with a predicted label
/// and/or a mask, or none does.
/// </summary>
public sealed class DefectTypeBreakdown
{
    private readonly Dictionary<(string Type, bool IsAnomalous), Group> _groups = [];
    private readonly List<double> _normalScores = [];
    private bool? _withFlags, _withMasks;

    /// <summary>Images added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds one image without a segmentation mask.</summary>
    /// <param name="defectType">The image's type (the normal images' type for normal ones).</param>
    /// <param name="isAnomalous">True for a defective image.</param>
    /// <param name="score">The image score (higher = more anomalous).</param>
    /// <param name="flagged">The model's predicted label, or null when the model has no threshold.</param>
    /// <exception cref="ArgumentException">The score is NaN.</exception>
    /// <exception cref="InvalidOperationException">Earlier images came with (or without) a predicted label or a mask where this one does not.</exception>
    public void Add(string defectType, bool isAnomalous, double score, bool? flagged = null) =>
        Add(defectType, isAnomalous, score, flagged, withMask: false, [], []);

    /// <summary>Adds one image with its predicted segmentation mask and ground-truth mask (anomalous where &gt; 0.5).</summary>
    /// <inheritdoc cref="Add(string, bool, double, bool?)"/>
    /// <exception cref="ArgumentException">The score is NaN, or the masks' lengths differ.</exception>
    public void Add(string defectType, bool isAnomalous, double score, bool? flagged, ReadOnlySpan<bool> predictedMask, ReadOnlySpan<float> groundTruth) =>
        Add(defectType, isAnomalous, score, flagged, withMask: true, predictedMask, groundTruth);

    private void Add(string defectType, bool isAnomalous, double score, bool? flagged, bool withMask, ReadOnlySpan<bool> predictedMask, ReadOnlySpan<float> groundTruth)
    {
        ArgumentNullException.ThrowIfNull(defectType);
        if (double.IsNaN(score)) throw new ArgumentException($"Image score #{Count} is NaN.", nameof(score));
        if (withMask) GroundTruth.CheckSameLength(predictedMask.Length, groundTruth.Length, nameof(groundTruth));
        RequireSameKind(_withFlags, flagged.HasValue, "a predicted label");
        RequireSameKind(_withMasks, withMask, "a segmentation mask");
        _withFlags = flagged.HasValue;
        _withMasks = withMask;
        if (!_groups.TryGetValue((defectType, isAnomalous), out Group? group))
        {
            group = new Group();
            _groups.Add((defectType, isAnomalous), group);
        }
        if (withMask) group.Overlap.Add(predictedMask, groundTruth);
        group.Scores.Add(score);
        if (flagged == true) group.Flagged++;
        if (!isAnomalous) _normalScores.Add(score);
        Count++;
    }

    private void RequireSameKind(bool? earlier, bool has, string what)
    {
        if (earlier is bool had && had != has)
        {
            throw new InvalidOperationException($"Image #{Count} comes {(has ? "with" : "without")} {what}, but the images before it {(has ? "did not" : "did")}; give it for every image or for none.");
        }
    }

    /// <summary>
    /// The metrics of every group: the normal group(s) first, then the defect types in ordinal order of their names.
    /// </summary>
    public IReadOnlyList<DefectTypeMetrics> Compute()
    {
        var result = new List<DefectTypeMetrics>();
        foreach (var ((type, isAnomalous), group) in _groups.OrderBy(g => g.Key.IsAnomalous).ThenBy(g => g.Key.Type, StringComparer.Ordinal))
        {
            DefectTypeSegmentation? segmentation = _withMasks == true
                ? new DefectTypeSegmentation(group.Overlap.ImagesWithDetection, group.Overlap.MeanIou, group.Overlap.Precision, group.Overlap.Recall)
                : null;
            double auroc = isAnomalous ? AurocAgainstNormals(group.Scores) : double.NaN;
            result.Add(new DefectTypeMetrics(type, isAnomalous, group.Scores.Count, auroc, _withFlags == true ? group.Flagged : null, segmentation));
        }
        return result;
    }

    private double AurocAgainstNormals(List<double> anomalousScores)
    {
        var scores = new double[_normalScores.Count + anomalousScores.Count];
        var labels = new bool[scores.Length];
        _normalScores.CopyTo(scores);
        CollectionsMarshal.AsSpan(anomalousScores).CopyTo(scores.AsSpan(_normalScores.Count));
        labels.AsSpan(_normalScores.Count).Fill(true);
        return RocAuc.Compute(scores, labels);
    }

    private sealed class Group
    {
        public List<double> Scores { get; } = [];
        public int Flagged { get; set; }
        public SegmentationOverlap Overlap { get; } = new();
    }
}
