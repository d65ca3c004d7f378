using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Api.Transforms;

/// <summary>The type of columns holding decoded 8-bit images (<see cref="Imaging.Image"/>, interleaved, 1–4 channels).</summary>
public sealed class ImageColumnType : ColumnType
{
    private ImageColumnType() { }

    /// <summary>The single instance.</summary>
    public static ImageColumnType Instance { get; } = Register();

    private static ImageColumnType Register()
    {
        var t = new ImageColumnType();
        RegisterKnownType(t);
        return t;
    }

    /// <inheritdoc/>
    public override Type RawType => typeof(Image);

    /// <inheritdoc/>
    public override bool Equals(ColumnType? other) => other is ImageColumnType;

    /// <inheritdoc/>
    public override string ToString() => "Image";
}
