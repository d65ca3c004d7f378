namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// An 8-bit image with 1 to 4 interleaved channels: 1 = grey (L), 2 = grey + alpha (LA), 3 = RGB, 4 = RGBA.
/// Rows are stored top to bottom without padding (stride = <see cref="Width"/> · <see cref="Channels"/>).
/// </summary>
public sealed class Image
{
    /// <summary>Creates a black (all-zero) image.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive, the channel count is not 1–4, or the image is too large.</exception>
    public Image(int width, int height, int channels)
    {
        Validate(width, height, channels);
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = new byte[(long)width * height * channels];
    }

    /// <summary>Wraps interleaved pixels (not copied); the array length must be exactly width · height · channels.</summary>
    public Image(int width, int height, int channels, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        Validate(width, height, channels);
        if (pixels.LongLength != (long)width * height * channels)
        {
            throw new ArgumentException($"Pixel array has {pixels.Length} bytes but a {width}x{height}x{channels} image needs {(long)width * height * channels}.", nameof(pixels));
        }
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Channels per pixel: 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA).</summary>
    public int Channels { get; }

    /// <summary>The interleaved pixels, row-major, top row first.</summary>
    public byte[] Pixels { get; }

    /// <summary>Bytes per row (<see cref="Width"/> · <see cref="Channels"/>).</summary>
    public int Stride => Width * Channels;

    /// <summary>The pixels of row <paramref name="y"/>.</summary>
    public Span<byte> Row(int y)
    {
        if ((uint)y >= (uint)Height) throw new ArgumentOutOfRangeException(nameof(y), y, $"Row must be in [0, {Height}).");
        return Pixels.AsSpan(y * Stride, Stride);
    }

    /// <summary>
    /// Returns the image as 3-channel RGB the way PIL's <c>convert("RGB")</c> does: grey is replicated to the three
    /// channels and alpha is dropped (not composited). Returns this instance when it already is RGB.
    /// </summary>
    public Image ToRgb()
    {
        if (Channels == 3) return this;
        var rgb = new Image(Width, Height, 3);
        ReadOnlySpan<byte> src = Pixels;
        Span<byte> dst = rgb.Pixels;
        int n = Width * Height;
        switch (Channels)
        {
            case 1:
                for (int i = 0, o = 0; i < n; i++, o += 3) { byte v = src[i]; dst[o] = v; dst[o + 1] = v; dst[o + 2] = v; }
                break;
            case 2:
                for (int i = 0, o = 0; i < n; i++, o += 3) { byte v = src[2 * i]; dst[o] = v; dst[o + 1] = v; dst[o + 2] = v; }
                break;
            default:
                for (int i = 0, o = 0; i < n; i++, o += 3) { dst[o] = src[4 * i]; dst[o + 1] = src[4 * i + 1]; dst[o + 2] = src[4 * i + 2]; }
                break;
        }
        return rgb;
    }

    /// <summary>
    /// Returns the image as 1-channel grey the way PIL's <c>convert("L")</c> does: RGB uses ITU-R 601-2 luma in PIL's
    /// fixed point, (R·19595 + G·38470 + B·7471 + 2^15) &gt;&gt; 16; alpha is dropped. Returns this instance when it already is grey.
    /// </summary>
    public Image ToGrey()
    {
        if (Channels == 1) return this;
        var grey = new Image(Width, Height, 1);
        ReadOnlySpan<byte> src = Pixels;
        Span<byte> dst = grey.Pixels;
        int n = Width * Height;
        if (Channels == 2)
        {
            for (int i = 0; i < n; i++) dst[i] = src[2 * i];
        }
        else
        {
            int c = Channels;
            for (int i = 0; i < n; i++)
            {
                int o = i * c;
                dst[i] = (byte)((src[o] * 19595 + src[o + 1] * 38470 + src[o + 2] * 7471 + 0x8000) >> 16);
            }
        }
        return grey;
    }

    /// <summary>Returns a deep copy.</summary>
    public Image Clone() => new(Width, Height, Channels, (byte[])Pixels.Clone());

    private static void Validate(int width, int height, int channels)
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be positive.");
        if (height <= 0) throw new ArgumentOutOfRangeException(nameof(height), height, "Height must be positive.");
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA).");
        if ((long)width * height * channels > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width}x{height}x{channels} image does not fit in one array.");
        }
    }
}
