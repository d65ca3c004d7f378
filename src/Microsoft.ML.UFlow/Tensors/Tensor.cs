using System.Runtime.CompilerServices;

namespace Microsoft.ML.UFlow.Tensors;

/// <summary>
/// A dense, contiguous float32 tensor of rank 1 to 4 in host memory (images, features, latents and maps between the
/// layers). Rank-4 tensors are laid out NCHW (row-major, W fastest).
/// </summary>
/// <remarks>
/// The backing array may be larger than <see cref="Length"/> so that a tensor can be reshaped in place
/// (<see cref="EnsureShape(int[])"/>) without reallocating across batches.
/// </remarks>
public sealed class Tensor
{
    private float[] _data;
    private int[] _shape;

    /// <summary>Creates a zero-filled tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">The shape is empty, has more than 4 dimensions or a negative dimension.</exception>
    public Tensor(params int[] shape)
    {
        _shape = ValidateShape(shape);
        Length = checked((int)ProductOf(_shape));
        _data = new float[Length];
    }

    /// <summary>Wraps an existing array (not copied). Its length must be at least the shape's element count.</summary>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        _shape = ValidateShape(shape);
        long needed = ProductOf(_shape);
        if (data.Length < needed)
        {
            throw new ArgumentException($"Data has {data.Length} elements but shape {Format(_shape)} needs {needed}.", nameof(data));
        }
        Length = (int)needed;
        _data = data;
    }

    /// <summary>The dimensions (a copy is not made; do not modify).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length { get; private set; }

    /// <summary>Dimension 0 of a rank-4 tensor (batch).</summary>
    public int N => Dim(0, 4);

    /// <summary>Dimension 1 of a rank-4 tensor (channels).</summary>
    public int C => Dim(1, 4);

    /// <summary>Dimension 2 of a rank-4 tensor (height).</summary>
    public int H => Dim(2, 4);

    /// <summary>Dimension 3 of a rank-4 tensor (width).</summary>
    public int W => Dim(3, 4);

    /// <summary>The elements, in layout order.</summary>
    public Span<float> Span => _data.AsSpan(0, Length);

    /// <summary>The backing array (may be longer than <see cref="Length"/>).</summary>
    internal float[] Buffer => _data;

    /// <summary>
    /// Element access for rank-4 tensors; every index is checked (an index past one dimension would otherwise land on a
    /// neighbouring element, or on stale data when EnsureShape shrank the tensor). Hot loops use spans, not this.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside its dimension, or the tensor is not rank 4.</exception>
    public float this[int n, int c, int h, int w]
    {
        get => _data[Offset(n, c, h, w)];
        set => _data[Offset(n, c, h, w)] = value;
    }

    private int Offset(int n, int c, int h, int w)
    {
        if (_shape.Length != 4 || (uint)n >= (uint)_shape[0] || (uint)c >= (uint)_shape[1] || (uint)h >= (uint)_shape[2] || (uint)w >= (uint)_shape[3])
        {
            throw new ArgumentOutOfRangeException(nameof(n), $"Index [{n}, {c}, {h}, {w}] is outside {this}.");
        }
        return ((n * _shape[1] + c) * _shape[2] + h) * _shape[3] + w;
    }

    /// <summary>Returns the elements of sample <paramref name="n"/> of a rank-4 tensor (C·H·W values).</summary>
    public Span<float> Sample(int n)
    {
        // The backing array can be longer than Length after EnsureShape shrank the tensor, so check the index here.
        if ((uint)n >= (uint)N) throw new ArgumentOutOfRangeException(nameof(n), n, $"Sample index outside {this}.");
        int size = C * H * W;
        return _data.AsSpan(n * size, size);
    }

    /// <summary>Returns the H·W plane of channel <paramref name="c"/> of sample <paramref name="n"/>.</summary>
    public Span<float> Plane(int n, int c)
    {
        if ((uint)n >= (uint)N) throw new ArgumentOutOfRangeException(nameof(n), n, $"Sample index outside {this}.");
        if ((uint)c >= (uint)C) throw new ArgumentOutOfRangeException(nameof(c), c, $"Channel index outside {this}.");
        int size = H * W;
        return _data.AsSpan((n * C + c) * size, size);
    }

    /// <summary>Returns the dimension of the given shape, or throws if this tensor's rank is not <paramref name="rank"/>.</summary>
    private int Dim(int axis, int rank)
    {
        if (_shape.Length != rank)
        {
            throw new InvalidOperationException($"Expected a rank-{rank} tensor but this tensor has shape {Format(_shape)}.");
        }
        return _shape[axis];
    }

    /// <summary>
    /// Gives this tensor the requested shape, reusing the backing array when it is large enough
    /// (contents are then unspecified); reallocates otherwise. Returns this tensor.
    /// </summary>
    public Tensor EnsureShape(params int[] shape)
    {
        if (SameShape(shape))
        {
            return this;
        }
        int[] validated = ValidateShape(shape);
        long needed = ProductOf(validated);
        if (needed > _data.Length)
        {
            _data = new float[checked((int)needed)];
        }
        _shape = validated;
        Length = (int)needed;
        return this;
    }

    /// <summary>Returns a deep copy.</summary>
    public Tensor Clone()
    {
        var copy = new Tensor(_shape.ToArray());
        Span.CopyTo(copy.Span);
        return copy;
    }

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => Span.Clear();

    /// <summary>Whether this tensor has exactly the given shape.</summary>
    public bool SameShape(ReadOnlySpan<int> shape) => shape.SequenceEqual(_shape);

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="name"/> unless the shape is <paramref name="expected"/>.</summary>
    public void CheckShape(string name, params int[] expected)
    {
        if (!SameShape(expected))
        {
            throw new ArgumentException($"Tensor '{name}' has shape {Format(_shape)} but {Format(expected)} was expected.", name);
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="name"/> unless the tensor has rank 4.</summary>
    public void CheckRank4(string name)
    {
        if (_shape.Length != 4)
        {
            throw new ArgumentException($"Tensor '{name}' has shape {Format(_shape)} but a rank-4 NCHW tensor was expected.", name);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor{Format(_shape)}";

    /// <summary>Formats a shape as [a, b, c].</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static int[] ValidateShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length is < 1 or > 4)
        {
            throw new ArgumentException($"Tensors have 1 to 4 dimensions; got {Format(shape)}.", nameof(shape));
        }
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Negative dimension in shape {Format(shape)}.", nameof(shape));
            }
        }
        int[] copy = shape.ToArray();
        _ = checked((int)ProductOf(copy));
        return copy;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long ProductOf(int[] shape)
    {
        long p = 1;
        foreach (int d in shape)
        {
            p *= d;
        }
        return p;
    }
}
