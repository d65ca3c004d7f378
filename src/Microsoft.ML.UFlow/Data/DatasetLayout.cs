namespace Microsoft.ML.UFlow.Data;

/// <summary>The folder layouts the readers understand.</summary>
public enum DatasetLayout
{
    /// <summary>One MVTec AD category: <c>train/good</c>, <c>test/&lt;type&gt;</c>, <c>ground_truth/&lt;type&gt;/&lt;name&gt;_mask.png</c>.</summary>
    MvtecAd,

    /// <summary>A plain layout like anomalib's <c>Folder</c>: a normal folder, an abnormal folder and an optional mask folder.</summary>
    Folder,

    /// <summary>Magnetic Tile Defects with its <c>split.txt</c>.</summary>
    Mtd,
}
