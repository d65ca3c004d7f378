using Microsoft.ML.UFlow;

namespace Microsoft.ML;

/// <summary>U-Flow and CS-Flow as anomaly-detection trainers of ML.NET.</summary>
public static class UFlowTrainersCatalog
{
    /// <summary>
    /// Create a <see cref="UFlowTrainer"/>, which trains U-Flow (a U-shaped normalizing flow, METHOD.md A.3–A.5) on the
    /// features of normal images and returns a scorer with an anomaly map, an image score and the latents that
    /// <c>SegmentWithNfa</c> segments.
    /// </summary>
    /// <param name="catalog">The anomaly-detection trainers catalog.</param>
    /// <param name="options">Training options; null for the defaults (<see cref="UFlowTrainer.Options.Defaults"/>).</param>
    /// <remarks>Training needs a TorchSharp backend package in the application (TorchSharp-cpu, or TorchSharp-cuda-linux /
    /// -windows with <c>Device = "cuda"</c>); scoring a saved model does not.</remarks>
    public static UFlowTrainer UFlow(this AnomalyDetectionCatalog.AnomalyDetectionTrainers catalog, UFlowTrainer.Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        // ML.NET keeps a catalog's environment internal; stock components are built on a context of the trainer's own.
        return new UFlowTrainer(new MLContext(options?.Seed ?? 0).Transforms, options);
    }

    /// <summary>
    /// Create a <see cref="CsFlowTrainer"/>, which trains CS-Flow (a fully convolutional cross-scale flow, METHOD.md Part C)
    /// on one backbone output at three input scales (<c>ApplyOnnxFeaturizerForCsFlow</c>) and returns a scorer with an
    /// image score and a localisation map.
    /// </summary>
    /// <param name="catalog">The anomaly-detection trainers catalog.</param>
    /// <param name="options">Training options; null for CS-Flow's defaults (<see cref="CsFlowTrainer.Options.Defaults"/>).</param>
    /// <remarks>Training needs a TorchSharp backend package in the application (TorchSharp-cpu, or TorchSharp-cuda-linux /
    /// -windows with <c>Device = "cuda"</c>); scoring a saved model does not.</remarks>
    public static CsFlowTrainer CsFlow(this AnomalyDetectionCatalog.AnomalyDetectionTrainers catalog, CsFlowTrainer.Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new CsFlowTrainer(new MLContext(options?.Seed ?? 0).Transforms, options);
    }
}
