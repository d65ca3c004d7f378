namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>The folder layouts <see cref="DataCatalog.LoadFromDirectory"/> recognises (DESIGN.md §6).</summary>
public enum DataLayout
{
    /// <summary>Detect from the folder's content.</summary>
    Auto,

    /// <summary>MVTec AD category: <c>train/good</c>, <c>test/&lt;type&gt;</c>, <c>ground_truth/&lt;type&gt;/&lt;name&gt;_mask.png</c>.</summary>
    MvTec,

    /// <summary>Plain folder as anomalib's <c>Folder</c>: <c>normal/</c> (train), <c>normal_test/</c> and <c>abnormal/</c> (test), <c>mask/</c> (same file names).</summary>
    Folder,

    /// <summary>Magnetic Tile Defects with its <c>split.txt</c> (split, class, stem; masks <c>&lt;stem&gt;.png</c>).</summary>
    Mtd,
}
