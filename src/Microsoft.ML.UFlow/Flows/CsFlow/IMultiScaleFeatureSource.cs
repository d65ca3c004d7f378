namespace Microsoft.ML.UFlow.Flows.CsFlow;

/// <summary>
/// Training data of CS-Flow: per sample, backbone features at three scales (C channels; H×W, H/2×W/2, H/4×W/4),
/// extracted once beforehand as in the official code.
/// </summary>
public interface IMultiScaleFeatureSource
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Channels C of every scale.</summary>
    int Channels { get; }

    /// <summary>Height and width of scale <paramref name="scale"/> (0, 1 or 2).</summary>
    (int Height, int Width) Size(int scale);

    /// <summary>Copies the C·H·W features of sample <paramref name="index"/> at <paramref name="scale"/> into <paramref name="destination"/>.</summary>
    void CopySample(int index, int scale, Span<float> destination);
}
