namespace Microsoft.ML.UFlow.Data;

/// <summary>
/// Options of the plain folder layout (like anomalib's <c>Folder</c>). Relative folders are resolved against
/// <see cref="Root"/> when it is set, else against the current directory.
/// </summary>
public sealed class FolderDatasetOptions
{
    /// <summary>Optional base folder for the relative folders below; also gives the data set its default name.</summary>
    public string? Root { get; set; }

    /// <summary>Folder of normal images (required). Without <see cref="NormalTestDirectory"/>, a seeded
    /// <see cref="NormalSplitRatio"/> share of them is held out for testing.</summary>
    public string NormalDirectory { get; set; } = "";

    /// <summary>Folder of anomalous images (optional). Images directly inside take the folder's name as defect type;
    /// images in its immediate subfolders take the subfolder's name.</summary>
    public string? AbnormalDirectory { get; set; }

    /// <summary>Folder of masks (optional). A mask is matched to an anomalous image by file stem: <c>&lt;stem&gt;.*</c> or
    /// <c>&lt;stem&gt;_mask.*</c>, looked for in <c>&lt;mask dir&gt;/&lt;defect type&gt;/</c> first for images of a subfolder, then in the mask folder.
    /// When set, every anomalous image must have one.</summary>
    public string? MaskDirectory { get; set; }

    /// <summary>Folder of normal test images (optional). When set, all of <see cref="NormalDirectory"/> is used for training.</summary>
    public string? NormalTestDirectory { get; set; }

    /// <summary>Share of the normal images held out for testing when there is no <see cref="NormalTestDirectory"/>
    /// (default 0.2, as anomalib); at least one image stays in training.</summary>
    public double NormalSplitRatio { get; set; } = 0.2;

    /// <summary>Seed of the held-out selection (default 0).</summary>
    public ulong Seed { get; set; }

    /// <summary>Name of the data set; defaults to the name of <see cref="Root"/> or of the normal folder's parent.</summary>
    public string? Name { get; set; }
}
