namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>The shape of one feature map a featurizer produces for a given input size.</summary>
/// <param name="Name">The output's name (the model output, or the scale's name).</param>
/// <param name="Channels">Channels C.</param>
/// <param name="Height">Height of the map.</param>
/// <param name="Width">Width of the map.</param>
/// <param name="Stride">Input height divided by map height (4, 8, 16, ... for CNN backbones).</param>
internal sealed record FeatureMapInfo(string Name, int Channels, int Height, int Width, int Stride);
