using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow;

/// <summary>The columns the NFA segmentation reads (a <c>CustomMapping</c> input).</summary>
public sealed class NfaSegmentationInput
{
    /// <summary>The latents of every scale, flattened and concatenated, finest first.</summary>
    [ColumnName(AnomalyColumns.Latents), VectorType]
    public float[] Latents { get; set; } = [];

    /// <summary>C, H, W of each scale of <see cref="Latents"/>.</summary>
    [ColumnName(AnomalyColumns.Latents + AnomalyColumns.ShapesSuffix), VectorType]
    public float[] LatentShapes { get; set; } = [];

    /// <summary>The segmentation's settings, as <see cref="NfaSegmentationSettings.ToVector"/> wrote them.</summary>
    [ColumnName(NfaSegmentationSettings.ColumnName), VectorType]
    public float[] Settings { get; set; } = [];
}

/// <summary>The columns the NFA segmentation adds (a <c>CustomMapping</c> output).</summary>
public sealed class NfaSegmentationOutput
{
    /// <summary>−log10 NFA per pixel on the map grid (S×S for a square input, else its aspect), row-major: positive means detected.</summary>
    [ColumnName(AnomalyColumns.LogNfa), VectorType]
    public float[] LogNfa { get; set; } = [];

    /// <summary>The automatic segmentation, on the same grid: <see cref="LogNfa"/> &gt; −log10 ε (ε = 1: log10 NFA &lt; 0).</summary>
    [ColumnName(AnomalyColumns.SegmentationMask), VectorType]
    public bool[] SegmentationMask { get; set; } = [];
}

/// <summary>
/// The NFA tree segmentation (METHOD.md A.7) as a stateless ML.NET <c>CustomMapping</c> with the contract name
/// <see cref="ContractName"/>, which ML.NET saves by name and finds again on load in any program that references this
/// library. Its settings travel as a column, so the mapping itself has no state.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class NfaSegmentationMapping : CustomMappingFactory<NfaSegmentationInput, NfaSegmentationOutput>
{
    /// <summary>The contract name saved in model files.</summary>
    public const string ContractName = "Microsoft.ML.UFlow.NfaSegmentation.v1";

    // Segmenters keep per-size buffers and are not thread-safe: one per thread and settings.
    [ThreadStatic] private static Dictionary<NfaSegmentationSettings, NfaSegmenter>? t_segmenters;

    /// <inheritdoc/>
    public override Action<NfaSegmentationInput, NfaSegmentationOutput> GetMapping() => Map;

    internal static void Map(NfaSegmentationInput input, NfaSegmentationOutput output)
    {
        var settings = NfaSegmentationSettings.FromVector(input.Settings);
        var scales = LatentLayout.Split(input.Latents, input.LatentShapes, AnomalyColumns.Latents);
        var nfaScales = scales.Select(s => new NfaLatentScale(s.Values, s.Channels, s.Height, s.Width)).ToArray();
        t_segmenters ??= [];
        if (!t_segmenters.TryGetValue(settings, out var segmenter))
        {
            segmenter = new NfaSegmenter(settings.ToOptions());
            t_segmenters[settings] = segmenter;
        }
        var largest = nfaScales.MaxBy(s => (long)s.Height * s.Width);
        var (height, width) = segmenter.OutputGrid(largest.Height, largest.Width);
        int pixels = height * width;
        if (output.LogNfa.Length != pixels) output.LogNfa = new float[pixels];
        if (output.SegmentationMask.Length != pixels) output.SegmentationMask = new bool[pixels];
        segmenter.Segment(nfaScales, output.LogNfa, output.SegmentationMask);
    }
}
