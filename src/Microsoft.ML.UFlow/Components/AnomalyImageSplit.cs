namespace Microsoft.ML.UFlow;

/// <summary>Which part of an anomaly-detection data set to load.</summary>
public enum AnomalyImageSplit
{
    /// <summary>The training images (normal only).</summary>
    Train,

    /// <summary>The test images (normal and anomalous, with masks where the data set has them).</summary>
    Test,
}
