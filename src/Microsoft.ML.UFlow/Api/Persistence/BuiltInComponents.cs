using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Transforms;

namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>The loaders of every component of this library, by component name.</summary>
internal static class BuiltInComponents
{
    public static IEnumerable<(string Name, Func<ModelLoadContext, ITransformer> Loader)> All =>
    [
        (TransformerChainPersistence.Name, TransformerChainPersistence.Load),
        (LoadImagesTransformer.Name, LoadImagesTransformer.Load),
        (ResizeImagesTransformer.Name, ResizeImagesTransformer.Load),
        (LoadMasksTransformer.Name, LoadMasksTransformer.Load),
        (ExtractPixelsTransformer.Name, ExtractPixelsTransformer.Load),
        (OnnxFeaturizerTransformer.Name, OnnxFeaturizerTransformer.Load),
        (AnomalyScoreTransformer.Name, AnomalyScoreTransformer.Load),
        (NfaSegmentationTransformer.Name, NfaSegmentationTransformer.Load),
    ];
}
