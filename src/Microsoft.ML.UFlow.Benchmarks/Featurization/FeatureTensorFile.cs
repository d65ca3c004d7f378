using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// A file of per-scale feature tensors (N×C×H×W each), as the benchmark commands cache backbone features between runs.
/// Layout (little-endian): magic <c>UFLOWFT1</c>, format version, scale count, then per scale N, C, H, W, then every
/// scale's float32 values. Reading checks the header against what the caller expects and the file length against the
/// header, so a stale, foreign or truncated file is reported and recomputed, never read as garbage. Writing is atomic
/// (a uniquely named temporary file in the same folder, then a rename), so concurrent runs never see half a file.
/// </summary>
internal static class FeatureTensorFile
{
    /// <summary>The format version written and read.</summary>
    public const int Version = 1;

    private static ReadOnlySpan<byte> Magic => "UFLOWFT1"u8;
    private const int MaxScales = 64;

    // A byte span holds at most int.MaxValue bytes, so tensors of 512 Mi floats or more (ResNet layer1 features of the
    // 762 MTD training images: 3.2 GB) are written and read in slices of this many floats.
    internal const int SliceValues = 1 << 26;

    /// <summary>Writes <paramref name="scales"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<Tensor> scales)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(scales);
        foreach (Tensor t in scales) t.CheckRank4(nameof(scales));
        AtomicFile.Write(path, stream =>
        {
            var header = new byte[Magic.Length + 8 + 16 * scales.Count];
            Magic.CopyTo(header);
            int at = Magic.Length;
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(at), Version);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(at + 4), scales.Count);
            at += 8;
            foreach (Tensor t in scales)
            {
                foreach (int d in (ReadOnlySpan<int>)[t.N, t.C, t.H, t.W])
                {
                    BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(at), d);
                    at += 4;
                }
            }
            stream.Write(header);
            foreach (Tensor t in scales) WriteValues(stream, t.Span);
        });
    }

    /// <summary>
    /// Reads the tensors when the file exists and matches: <paramref name="expectedCount"/> samples and, per scale, the
    /// shape in <paramref name="expectedShapes"/> (a null entry accepts any shape). Otherwise returns null, with
    /// <paramref name="reason"/> saying why (null when the file does not exist).
    /// </summary>
    public static Tensor[]? TryRead(string path, int expectedCount, IReadOnlyList<(int C, int H, int W)?> expectedShapes, out string? reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(expectedShapes);
        reason = null;
        if (!File.Exists(path)) return null;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = stream.Length;
        Span<byte> fixedPart = stackalloc byte[Magic.Length + 8];
        if (stream.ReadAtLeast(fixedPart, fixedPart.Length, throwOnEndOfStream: false) < fixedPart.Length || !fixedPart[..Magic.Length].SequenceEqual(Magic))
        {
            reason = "it is not a feature cache of this format (no UFLOWFT1 signature)";
            return null;
        }
        int version = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[Magic.Length..]);
        int scaleCount = BinaryPrimitives.ReadInt32LittleEndian(fixedPart[(Magic.Length + 4)..]);
        if (version != Version)
        {
            reason = $"it has format version {version}, this build reads {Version}";
            return null;
        }
        if (scaleCount != expectedShapes.Count || scaleCount is < 1 or > MaxScales)
        {
            reason = $"it holds {scaleCount} scales, expected {expectedShapes.Count}";
            return null;
        }
        var dims = new byte[16 * scaleCount];
        if (stream.ReadAtLeast(dims, dims.Length, throwOnEndOfStream: false) < dims.Length)
        {
            reason = "its header is truncated";
            return null;
        }
        var shapes = new int[scaleCount][];
        long expectedLength = fixedPart.Length + dims.Length;
        for (int l = 0; l < scaleCount; l++)
        {
            int[] s = shapes[l] = new int[4];
            for (int k = 0; k < 4; k++) s[k] = BinaryPrimitives.ReadInt32LittleEndian(dims.AsSpan(16 * l + 4 * k));
            if (s[0] != expectedCount)
            {
                reason = $"scale {l} holds {s[0]} samples, expected {expectedCount}";
                return null;
            }
            if (s[1] < 1 || s[2] < 1 || s[3] < 1 || (expectedShapes[l] is { } e && (s[1], s[2], s[3]) != e))
            {
                string wanted = expectedShapes[l] is { } w ? $"{w.C}@{w.H}x{w.W}" : "a positive shape";
                reason = $"scale {l} has shape {s[1]}@{s[2]}x{s[3]}, expected {wanted}";
                return null;
            }
            long values = (long)s[0] * s[1] * s[2] * s[3];
            if (values > Array.MaxLength)
            {
                reason = $"scale {l} claims {values} values, more than one tensor holds";
                return null;
            }
            expectedLength += 4 * values;
        }
        if (length != expectedLength)
        {
            reason = $"it is {length} bytes long but its header implies {expectedLength} (truncated or damaged)";
            return null;
        }
        var tensors = new Tensor[scaleCount];
        for (int l = 0; l < scaleCount; l++)
        {
            tensors[l] = new Tensor(shapes[l][0], shapes[l][1], shapes[l][2], shapes[l][3]);
            ReadValues(stream, tensors[l].Span);
        }
        return tensors;
    }

    private static void WriteValues(Stream stream, ReadOnlySpan<float> values)
    {
        for (int start = 0, count; start < values.Length; start += count)
        {
            count = Math.Min(SliceValues, values.Length - start);
            stream.Write(MemoryMarshal.AsBytes(values.Slice(start, count)));
        }
    }

    private static void ReadValues(Stream stream, Span<float> values)
    {
        for (int start = 0, count; start < values.Length; start += count)
        {
            count = Math.Min(SliceValues, values.Length - start);
            stream.ReadExactly(MemoryMarshal.AsBytes(values.Slice(start, count)));
        }
    }
}
