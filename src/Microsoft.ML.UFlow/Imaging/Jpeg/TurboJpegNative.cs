using System.Runtime.InteropServices;

namespace Microsoft.ML.UFlow.Imaging.Jpeg;

/// <summary>
/// The only place that calls libjpeg-turbo: P/Invoke into Debian's <c>libturbojpeg.so.0</c> (TurboJPEG 2.1 API).
/// A missing library is reported as <see cref="DllNotFoundException"/> naming <c>build/install-native.sh</c>.
/// </summary>
internal static partial class TurboJpegNative
{
    private const string Library = "libturbojpeg.so.0";

    public const int PixelFormatRgb = 0;   // TJPF_RGB
    public const int PixelFormatGray = 6;  // TJPF_GRAY
    public const int ColorspaceRgb = 0, ColorspaceYCbCr = 1, ColorspaceGray = 2, ColorspaceCmyk = 3, ColorspaceYcck = 4;
    public const int FlagStopOnWarning = 8192;  // TJFLAG_STOPONWARNING: corrupt or truncated data is an error
    public const int FlagLimitScans = 32768;    // TJFLAG_LIMITSCANS: refuse progressive files with > 500 scans

    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    private static partial nint InitDecompressNative();

    [LibraryImport(Library, EntryPoint = "tjDecompressHeader3")]
    private static unsafe partial int DecompressHeader3Native(TurboJpegHandle handle, byte* jpegBuf, nuint jpegSize, out int width, out int height, out int subsampling, out int colorspace);

    [LibraryImport(Library, EntryPoint = "tjDecompress2")]
    private static unsafe partial int Decompress2Native(TurboJpegHandle handle, byte* jpegBuf, nuint jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library, EntryPoint = "tjGetErrorStr2")]
    private static partial nint GetErrorStr2Native(TurboJpegHandle handle);

    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    internal static partial int Destroy(nint handle);

    /// <summary>Creates a decompressor.</summary>
    public static TurboJpegHandle CreateDecompressor()
    {
        nint h;
        try
        {
            h = InitDecompressNative();
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(
                $"JPEG decoding needs libjpeg-turbo's TurboJPEG library ({Library}), which could not be loaded. Run build/install-native.sh (it installs the Debian package libturbojpeg0).", e);
        }
        if (h == 0) throw new InvalidOperationException("tjInitDecompress failed.");
        return new TurboJpegHandle(h);
    }

    public static unsafe int DecompressHeader(TurboJpegHandle handle, ReadOnlySpan<byte> jpeg, out int width, out int height, out int colorspace)
    {
        fixed (byte* p = jpeg)
        {
            return DecompressHeader3Native(handle, p, (nuint)jpeg.Length, out width, out height, out _, out colorspace);
        }
    }

    public static unsafe int Decompress(TurboJpegHandle handle, ReadOnlySpan<byte> jpeg, Span<byte> destination, int width, int height, int pixelFormat, int flags)
    {
        int pitch = width * (pixelFormat == PixelFormatGray ? 1 : 3);
        if (destination.Length < (long)pitch * height) throw new ArgumentException("Destination too small.", nameof(destination));
        fixed (byte* src = jpeg)
        fixed (byte* dst = destination)
        {
            return Decompress2Native(handle, src, (nuint)jpeg.Length, dst, width, pitch, height, pixelFormat, flags);
        }
    }

    public static string LastError(TurboJpegHandle handle)
    {
        nint s = GetErrorStr2Native(handle);
        return s == 0 ? "unknown TurboJPEG error" : Marshal.PtrToStringUTF8(s) ?? "unknown TurboJPEG error";
    }
}

/// <summary>Owns a TurboJPEG <c>tjhandle</c>; released with <c>tjDestroy</c>.</summary>
internal sealed class TurboJpegHandle : SafeHandle
{
    public TurboJpegHandle() : base(0, ownsHandle: true) { }

    public TurboJpegHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => TurboJpegNative.Destroy(handle) == 0;
}
