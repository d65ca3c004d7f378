using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Features;

/// <summary>
/// Stores the multi-scale features of every training image once, so that training epochs do not re-run the backbone.
/// Samples are kept in memory up to <see cref="MemoryBudgetBytes"/>; later samples spill to one float32 file
/// (little-endian, deleted when the cache is disposed). Adding is single-threaded; reads may run concurrently.
/// </summary>
internal sealed class FeatureCache : IDisposable
{
    private readonly List<float[]?> _inMemory = [];
    private readonly List<long> _fileOffsets = [];
    private readonly string _spillDirectory;
    private int[][]? _shapes;      // per scale: C, H, W
    private int _sampleLength;     // floats per sample, all scales
    private SafeFileHandle? _spill;
    private long _spillLength;
    private bool _disposed;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="memoryBudgetBytes">Bytes of features kept in memory before spilling to disk (default 2 GiB).</param>
    /// <param name="spillDirectory">Folder for the spill file; null for the system's temporary folder.</param>
    public FeatureCache(long memoryBudgetBytes = 2L << 30, string? spillDirectory = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(memoryBudgetBytes);
        MemoryBudgetBytes = memoryBudgetBytes;
        _spillDirectory = spillDirectory ?? Path.GetTempPath();
    }

    /// <summary>Bytes of features kept in memory before later samples spill to disk.</summary>
    public long MemoryBudgetBytes { get; }

    /// <summary>Number of samples stored.</summary>
    public int Count => _inMemory.Count;

    /// <summary>Bytes of features held in memory.</summary>
    public long MemoryBytes { get; private set; }

    /// <summary>Bytes of features written to the spill file.</summary>
    public long SpilledBytes => _spillLength;

    /// <summary>The spill file's path, or null while nothing has spilled.</summary>
    public string? SpillPath { get; private set; }

    /// <summary>The per-scale shapes [C, H, W] of one sample, or null before the first <see cref="Add"/>.</summary>
    public IReadOnlyList<int[]>? SampleShapes => _shapes;

    /// <summary>Stores every sample of a featurizer's output (one [N, C, H, W] map per scale). Returns the index of the first.</summary>
    /// <exception cref="ArgumentException">The maps disagree on N, or their shapes differ from the samples already stored.</exception>
    public int Add(IReadOnlyList<Tensor> maps)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.Count == 0) throw new ArgumentException("At least one feature map is needed.", nameof(maps));
        for (int s = 0; s < maps.Count; s++) maps[s].CheckRank4($"{nameof(maps)}[{s}]");
        int n = maps[0].N;
        // Validate everything before the first call fixes the shapes, so that a bad first batch leaves the cache unchanged.
        int[][] shapes = _shapes ?? maps.Select(m => new[] { m.C, m.H, m.W }).ToArray();
        if (maps.Count != shapes.Length) throw new ArgumentException($"The cache holds {shapes.Length} scales; got {maps.Count} maps.", nameof(maps));
        for (int s = 0; s < maps.Count; s++)
        {
            Tensor m = maps[s];
            if (m.N != n) throw new ArgumentException($"Map {s} has batch size {m.N} but map 0 has {n}.", nameof(maps));
            if (m.C != shapes[s][0] || m.H != shapes[s][1] || m.W != shapes[s][2])
            {
                throw new ArgumentException($"Map {s} has per-sample shape [{m.C}, {m.H}, {m.W}] but the cache holds [{string.Join(", ", shapes[s])}].", nameof(maps));
            }
        }
        if (_shapes is null)
        {
            long length = shapes.Sum(sh => (long)sh[0] * sh[1] * sh[2]);
            if (length > Array.MaxLength) throw new ArgumentException($"One sample holds {length} values, more than one array can.", nameof(maps));
            _sampleLength = (int)length;
            _shapes = shapes;
        }
        int first = Count;
        long sampleBytes = (long)_sampleLength * sizeof(float);
        for (int i = 0; i < n; i++)
        {
            if (MemoryBytes + sampleBytes <= MemoryBudgetBytes)
            {
                var sample = new float[_sampleLength];
                int at = 0;
                foreach (Tensor m in maps)
                {
                    Span<float> part = m.Sample(i);
                    part.CopyTo(sample.AsSpan(at));
                    at += part.Length;
                }
                _inMemory.Add(sample);
                _fileOffsets.Add(-1);
                MemoryBytes += sampleBytes;
            }
            else
            {
                SafeFileHandle file = _spill ??= OpenSpillFile();
                long offset = _spillLength;
                foreach (Tensor m in maps)
                {
                    ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes((ReadOnlySpan<float>)m.Sample(i));
                    RandomAccess.Write(file, bytes, _spillLength);
                    _spillLength += bytes.Length;
                }
                _inMemory.Add(null);
                _fileOffsets.Add(offset);
            }
        }
        return first;
    }

    /// <summary>
    /// Gathers the samples at <paramref name="indices"/> into one batch per scale: destination s becomes [B, C_s, H_s, W_s]
    /// (reshaped, its buffer reused when large enough), in the order of <paramref name="indices"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, Count).</exception>
    public void ReadBatch(ReadOnlySpan<int> indices, IReadOnlyList<Tensor> destinations)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(destinations);
        if (_shapes is null) throw new InvalidOperationException("The feature cache is empty.");
        if (destinations.Count != _shapes.Length) throw new ArgumentException($"The cache holds {_shapes.Length} scales; got {destinations.Count} destinations.", nameof(destinations));
        for (int s = 0; s < _shapes.Length; s++) destinations[s].EnsureShape(indices.Length, _shapes[s][0], _shapes[s][1], _shapes[s][2]);
        for (int b = 0; b < indices.Length; b++)
        {
            int index = indices[b];
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), index, $"The cache holds {Count} samples.");
            float[]? sample = _inMemory[index];
            long offset = _fileOffsets[index];
            int at = 0;
            for (int s = 0; s < _shapes.Length; s++)
            {
                Span<float> target = destinations[s].Sample(b);
                if (sample is not null)
                {
                    sample.AsSpan(at, target.Length).CopyTo(target);
                }
                else
                {
                    ReadExactly(MemoryMarshal.AsBytes(target), offset + (long)at * sizeof(float));
                }
                at += target.Length;
            }
        }
    }

    /// <summary>Reads one sample into per-scale destinations (each becomes [1, C, H, W]).</summary>
    public void Read(int index, IReadOnlyList<Tensor> destinations) => ReadBatch([index], destinations);

    private void ReadExactly(Span<byte> target, long offset)
    {
        while (target.Length > 0)
        {
            int read = RandomAccess.Read(_spill!, target, offset);
            if (read <= 0) throw new IOException($"Feature cache spill file '{SpillPath}' ended early at byte {offset}.");
            target = target[read..];
            offset += read;
        }
    }

    private SafeFileHandle OpenSpillFile()
    {
        Directory.CreateDirectory(_spillDirectory);
        SpillPath = Path.Combine(_spillDirectory, $"uflow-features-{Environment.ProcessId}-{Guid.NewGuid():N}.f32");
        return File.OpenHandle(SpillPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose | FileOptions.RandomAccess);
    }

    /// <summary>Releases memory and deletes the spill file.</summary>
    public void Dispose()
    {
        _disposed = true;
        _spill?.Dispose();
        _spill = null;
        _inMemory.Clear();
        _fileOffsets.Clear();
        MemoryBytes = 0;
    }
}
