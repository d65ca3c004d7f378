namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>Which part of an anomaly-detection data set to load.</summary>
public enum DataSplit
{
    /// <summary>Normal training images.</summary>
    Train,

    /// <summary>Test images, normal and anomalous, with ground-truth masks where defined.</summary>
    Test,
}
