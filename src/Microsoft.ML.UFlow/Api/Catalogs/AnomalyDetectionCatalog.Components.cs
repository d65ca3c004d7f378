using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Api;

public sealed partial class AnomalyDetectionCatalog
{
    /// <summary>
    /// The a-contrario NFA segmentation of the latents (the default U-Flow segmentation, no threshold to tune): adds
    /// <c>LogNfa</c> and <c>SegmentationMask</c>.
    /// </summary>
    /// <param name="options">Output size, upsampling, false-alarm budget, guard; null = the official defaults.</param>
    /// <param name="latentsColumnName">The latents column.</param>
    public TrivialEstimator<NfaSegmentationTransformer> SegmentWithNfa(NfaSegmentationOptions? options = null, string latentsColumnName = UFlowColumns.Latents)
        => new(new NfaSegmentationTransformer(options, latentsColumnName));

    /// <summary>
    /// Returns a new model whose U-Flow scorer flags images with <c>Score &gt; threshold</c> (ML.NET's
    /// <c>ChangeModelThreshold</c>); the input model is unchanged. Works on a scorer or on a chain containing one.
    /// </summary>
    /// <exception cref="ArgumentException">The model contains no <see cref="AnomalyScoreTransformer"/>.</exception>
    public TModel ChangeModelThreshold<TModel>(TModel model, float threshold) where TModel : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(model);
        ITransformer result = model switch
        {
            AnomalyScoreTransformer scorer => scorer.WithThreshold(threshold),
            TransformerChain<ITransformer> chain => ReplaceScorer(chain, threshold),
            TransformerChain<AnomalyScoreTransformer> chain => ReplaceScorer(chain, threshold),
            TransformerChain<NfaSegmentationTransformer> chain => ReplaceScorer(chain, threshold),
            _ => throw new ArgumentException($"ChangeModelThreshold needs an AnomalyScoreTransformer or a chain holding one; got {model.GetType().Name}.", nameof(model)),
        };
        return (TModel)result;
    }

    private static TransformerChain<T> ReplaceScorer<T>(TransformerChain<T> chain, float threshold) where T : class, ITransformer
    {
        int index = chain.Select((t, i) => (t, i)).LastOrDefault(p => p.t is AnomalyScoreTransformer, (null!, -1)).Item2;
        if (index < 0) throw new ArgumentException("The chain holds no AnomalyScoreTransformer.", nameof(chain));
        return chain.Replace(index, ((AnomalyScoreTransformer)chain.ElementAt(index)).WithThreshold(threshold));
    }
}

public sealed partial class AnomalyDetectionTrainers
{
    /// <summary>
    /// U-Flow (Tailanian et al.): a U-shaped normalizing flow over the multi-scale features in <see cref="UFlowTrainer.Options.FeatureColumnName"/>,
    /// trained on normal images only. The fitted <see cref="AnomalyScoreTransformer"/> adds <c>Latents</c>, <c>AnomalyMap</c>,
    /// <c>Score</c> and <c>PredictedLabel</c>; append <see cref="AnomalyDetectionCatalog.SegmentWithNfa"/> for the automatic segmentation.
    /// </summary>
    public UFlowTrainer UFlow(UFlowTrainer.Options? options = null) => new(options ?? new UFlowTrainer.Options(), Context.Seed);
}
