using System.Runtime.InteropServices;
using System.Text;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Bounded little-endian reading (and the matching float writing) shared by the training checkpoints. Every length
/// and count is checked against a sane limit and against the bytes left in the stream before anything is allocated,
/// so a damaged file fails with one <see cref="InvalidDataException"/> that names it, never with an out-of-memory,
/// overflow or argument error.
/// </summary>
internal sealed class FlowBinaryReader : IDisposable
{
    /// <summary>The longest string (UTF-8 bytes) a checkpoint may hold: names and metadata are far shorter.</summary>
    public const int MaxStringBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly BinaryReader _reader;
    private readonly Func<string, InvalidDataException> _bad;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <param name="stream">The stream to read (left open). A stream that cannot seek is first copied to memory, so that
    /// its length is known and every size can be checked against it.</param>
    /// <param name="bad">Makes the exception for a damaged file from the reason (the caller names the file in it).</param>
    public FlowBinaryReader(Stream stream, Func<string, InvalidDataException> bad)
    {
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        _stream = stream;
        _bad = bad;
        _reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
    }

    /// <summary>The exception for a damaged file, with <paramref name="why"/> as the reason (it names the file).</summary>
    public InvalidDataException Bad(string why) => _bad(why);

    /// <summary>Bytes left in the stream.</summary>
    public long Remaining => Math.Max(0, _stream.Length - _stream.Position);

    /// <summary>Throws unless at least <paramref name="bytes"/> bytes remain for <paramref name="what"/>.</summary>
    public void Require(long bytes, string what)
    {
        if (bytes < 0 || bytes > Remaining) throw _bad($"it is truncated or corrupt: {what} needs {bytes} bytes but {Remaining} remain");
    }

    public int ReadInt32() { Require(4, "an integer"); return _reader.ReadInt32(); }

    public ulong ReadUInt64() { Require(8, "an integer"); return _reader.ReadUInt64(); }

    public float ReadSingle() { Require(4, "a number"); return _reader.ReadSingle(); }

    public double ReadDouble() { Require(8, "a number"); return _reader.ReadDouble(); }

    public bool ReadBoolean()
    {
        Require(1, "a flag");
        byte b = _reader.ReadByte();
        return b switch { 0 => false, 1 => true, _ => throw _bad($"a flag holds the byte {b}, not 0 or 1") };
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public byte[] ReadBytes(int count, string what)
    {
        Require(count, what);
        byte[] bytes = _reader.ReadBytes(count);
        if (bytes.Length != count) throw _bad($"it is truncated: {what} is cut short");
        return bytes;
    }

    /// <summary>
    /// Reads a format's signature and version: a wrong signature is "not this format", a version above
    /// <paramref name="newestVersion"/> throws <paramref name="newer"/>'s message (update the library), below 1 is corrupt.
    /// Returns the version.
    /// </summary>
    public int ReadSignatureAndVersion(byte[] signature, string notSignature, int newestVersion, Func<int, string> newer)
    {
        if (!ReadBytes(signature.Length, "the signature").AsSpan().SequenceEqual(signature)) throw _bad(notSignature);
        int version = ReadInt32();
        if (version > newestVersion) throw new InvalidDataException(newer(version));
        if (version < 1) throw _bad($"format version {version} is invalid");
        return version;
    }

    /// <summary>Reads an integer that must lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int ReadInt32(string what, int min, int max)
    {
        int value = ReadInt32();
        if (value < min || value > max) throw _bad($"{what} {value} is out of range [{min}, {max}]");
        return value;
    }

    /// <summary>Reads a string written by <see cref="BinaryWriter.Write(string)"/> (7-bit length, then UTF-8), at most <paramref name="maxBytes"/> bytes.</summary>
    public string ReadString(string what, int maxBytes = MaxStringBytes)
    {
        int length = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 28) throw _bad($"the length of {what} is malformed");
            Require(1, what);
            byte b = _reader.ReadByte();
            length |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
        }
        if (length < 0 || length > maxBytes) throw _bad($"{what} claims {(uint)length} bytes, more than the limit of {maxBytes}");
        byte[] bytes = ReadBytes(length, what);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw _bad($"{what} is not valid UTF-8");
        }
    }

    /// <summary>Fills <paramref name="values"/> with little-endian float32 values, checking first that they are all there.</summary>
    public void ReadFloats(Span<float> values, string what)
    {
        Require(4L * values.Length, what);
        if (BitConverter.IsLittleEndian)
        {
            Span<byte> bytes = MemoryMarshal.AsBytes(values);
            int read = 0;
            while (read < bytes.Length)
            {
                int got = _reader.Read(bytes[read..]);
                if (got == 0) throw _bad($"it is truncated: {what} is cut short");
                read += got;
            }
            return;
        }
        for (int i = 0; i < values.Length; i++) values[i] = _reader.ReadSingle();
    }

    /// <summary>Writes float32 values little-endian (the counterpart of <see cref="ReadFloats"/>).</summary>
    public static void WriteFloats(BinaryWriter writer, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            writer.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        foreach (float v in values) writer.Write(v);
    }

    /// <inheritdoc/>
    public void Dispose() => _reader.Dispose();
}
