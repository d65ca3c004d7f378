using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Exports a fitted U-Flow to its scorer graph, sets the threshold from the training images' scores (the highest: no
/// training image is flagged) and wraps the stock <c>OnnxTransformer</c> and score mapping that run it.
/// </summary>
internal static class UFlowScorerFactory
{
    public static SchemaShape OutputSchema(SchemaShape input)
    {
        var columns = input.ToDictionary(c => c.Name);
        foreach (string name in new[] { ScorerGraph.AnomalyMap, ScorerGraph.RawScore, ScorerGraph.Threshold, ScorerGraph.Latents, ScorerGraph.LatentShapes })
        {
            columns[name] = SchemaShapes.FloatVector(name);
        }
        columns[AnomalyColumns.Score] = SchemaShapes.Float(AnomalyColumns.Score);
        columns[AnomalyColumns.PredictedLabel] = SchemaShapes.Boolean(AnomalyColumns.PredictedLabel);
        return new SchemaShape(columns.Values);
    }

    public static AnomalyScoreTransformer Create(TransformsCatalog transforms, UFlowConfig config, IReadOnlyDictionary<string, StateTensor> state,
        UFlowTrainer.Options options, UFlowTrainingSummary summary, FeatureCache cache, IDataView input, IProgress<TrainingProgress>? progress)
    {
        var latentShapes = config.Plan().LatentChannels.Select((c, l) => (c, config.Scales[l].Height, config.Scales[l].Width)).ToArray();
        var metadata = new Dictionary<string, string>
        {
            ["uflow.training.epochs"] = summary.Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["uflow.training.images"] = summary.TrainingImages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["uflow.training.final_loss"] = summary.FinalLoss.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (options.Tiling is { } tiling)
        {
            metadata[FlowMetadataKeys.TileSize] = tiling.TileSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
            metadata[FlowMetadataKeys.TileOverlap] = tiling.Overlap.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        float[]? factors = Calibrate(summary, metadata);
        byte[] Export(float? threshold) => ScorerGraph.Build(UFlowOnnxExporter.Export(config, state, new FlowOnnxExportOptions
        {
            MapSize = options.OutputSize,
            InputSize = TrainingImageSize.Of(input.Schema),
            InputName = options.FeatureColumnName,
            Threshold = threshold,
            AdditionalMetadata = metadata,
        }), latentShapes, threshold ?? float.PositiveInfinity, factors);

        float threshold = TrainingThreshold.FromTrainingScores(Export(null), options.FeatureColumnName, cache, nameof(UFlowTrainer), progress);
        byte[] graph = Export(threshold);
        var estimator = transforms.ApplyOnnxModel(
                [ScorerGraph.AnomalyMap, ScorerGraph.RawScore, ScorerGraph.Threshold, ScorerGraph.Latents, ScorerGraph.LatentShapes],
                [options.FeatureColumnName], new MemoryStream(graph))
            .Append(transforms.CustomMapping(new ScoreMapping().GetMapping(), ScoreMapping.ContractName));
        return new AnomalyScoreTransformer(estimator.Fit(input), config, threshold, options.OutputSize, summary, graph);
    }

    // Writes the held-out facts and the calibration into the metadata; returns the factors 1/√s_l that scale the NFA's
    // latents under LatentCalibration.HeldOutScale (s_l: the exported flow's held-out mean z²), or null.
    private static float[]? Calibrate(UFlowTrainingSummary summary, Dictionary<string, string> metadata)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (summary.HeldOut is not { } heldOut) return null;
        string divisors = string.Join(";", heldOut.MeanSquarePerScale.Select(v => v.ToString("R", inv)));
        metadata[FlowMetadataKeys.HeldOutImages] = heldOut.Images.ToString(inv);
        metadata[FlowMetadataKeys.HeldOutLoss] = heldOut.Loss.ToString("R", inv);
        metadata[FlowMetadataKeys.HeldOutMeanSquare] = divisors;
        metadata[FlowMetadataKeys.Calibration] = summary.Calibration == LatentCalibration.HeldOutScale ? "held_out_scale" : "none";
        if (summary.Calibration != LatentCalibration.HeldOutScale) return null;
        float[] factors;
        try
        {
            factors = LatentCalibrationFactors.FromMeanSquare(heldOut.MeanSquarePerScale);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{nameof(UFlowTrainer)}: {e.Message} Train with LatentCalibration None, or check the features.", e);
        }
        metadata[FlowMetadataKeys.CalibrationDivisors] = divisors;
        return factors;
    }
}
