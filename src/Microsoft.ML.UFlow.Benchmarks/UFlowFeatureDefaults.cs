namespace Microsoft.ML.UFlow.Benchmarks;

/// <summary>
/// How <c>uflow train</c> featurises images for U-Flow, handed to the benches that must see the same features (the
/// benches cannot reference the CLI, which references them).
/// </summary>
/// <param name="Backbone">The default backbone, relative to the working directory.</param>
/// <param name="ResolveLayers">
/// The U-Flow layers of a backbone: given its path and the user's comma-separated <c>--layers</c> (null when not given),
/// the outputs to use.
/// </param>
/// <param name="ResolveInputSize">
/// The input width × height: given the user's <c>--input-size</c> text (null when not given) and the training images'
/// paths, the size and a sentence that says how the default was chosen (null for a given size).
/// </param>
/// <param name="Featurizer">
/// The features pipeline over an <c>ImagePath</c> column: given the context, the backbone, its layers, the width and the
/// height, an estimator that loads, resizes and featurises into <c>Features</c> and <c>Features.Shapes</c>.
/// </param>
public sealed record UFlowFeatureDefaults(
    string Backbone,
    Func<string, string?, string[]> ResolveLayers,
    Func<string?, IEnumerable<string>, (int Width, int Height, string? Description)> ResolveInputSize,
    Func<MLContext, string, IReadOnlyList<string>, int, int, IEstimator<ITransformer>> Featurizer);
