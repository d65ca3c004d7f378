using System.Globalization;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Api.Data;

/// <summary>
/// The type of a data-view column: the CLR type of its values plus, for tensors, the expected shape.
/// Types have a stable text form (<see cref="ToString"/>, <see cref="Parse"/>) used in saved input schemas and in errors.
/// </summary>
public abstract class ColumnType : IEquatable<ColumnType>
{
    /// <summary>The CLR type of the values of a column of this type.</summary>
    public abstract Type RawType { get; }

    /// <summary>A string column (for example an image path).</summary>
    public static ColumnType Text { get; } = new ScalarColumnType("Text", typeof(string));

    /// <summary>A float32 scalar column (for example <c>Score</c>).</summary>
    public static ColumnType Single { get; } = new ScalarColumnType("Single", typeof(float));

    /// <summary>A boolean column (for example <c>Label</c>, <c>PredictedLabel</c>).</summary>
    public static ColumnType Boolean { get; } = new ScalarColumnType("Boolean", typeof(bool));

    /// <summary>A float32 tensor column with the given dimensions; -1 marks a dimension of any size.</summary>
    public static TensorColumnType Tensor(params int[] dimensions) => new(dimensions);

    /// <summary>A list of float32 [C,H,W] feature maps, one per scale (for example <c>Features</c>, <c>Latents</c>).</summary>
    public static FeatureMapsColumnType FeatureMaps(int scales) => new(scales);

    /// <summary>True when a column of type <paramref name="actual"/> can be consumed where this type is expected.</summary>
    public virtual bool Accepts(ColumnType actual) => Equals(actual);

    /// <summary>Checks that a value has this type's CLR type (and shape, for tensors); used when rows are materialised.</summary>
    public virtual bool IsValidValue(object? value) => value is not null && RawType.IsInstanceOfType(value);

    /// <inheritdoc/>
    public abstract bool Equals(ColumnType? other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ColumnType t && Equals(t);

    /// <inheritdoc/>
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);

    /// <summary>The stable text form of the type (for example <c>Tensor[3,?,?]</c>), read back by <see cref="Parse"/>.</summary>
    public abstract override string ToString();

    /// <summary>Parses the text form written by <see cref="ToString"/>.</summary>
    /// <exception cref="FormatException">The text names no known column type.</exception>
    public static ColumnType Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (text)
        {
            case "Text": return Text;
            case "Single": return Single;
            case "Boolean": return Boolean;
        }
        foreach (var custom in s_custom)
        {
            if (custom.ToString() == text) return custom;
        }
        if (text.StartsWith("Tensor[", StringComparison.Ordinal) && text.EndsWith(']'))
        {
            string inner = text["Tensor[".Length..^1];
            int[] dims = inner.Length == 0 ? [] : inner.Split(',').Select(s => s.Trim() == "?" ? -1 : int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            return new TensorColumnType(dims);
        }
        if (text.StartsWith("FeatureMaps[", StringComparison.Ordinal) && text.EndsWith(']'))
        {
            return new FeatureMapsColumnType(int.Parse(text["FeatureMaps[".Length..^1], CultureInfo.InvariantCulture));
        }
        throw new FormatException($"Unknown column type '{text}'.");
    }

    private static readonly List<ColumnType> s_custom = [];

    /// <summary>Registers a column type defined in another layer (for example the image type) so that <see cref="Parse"/> knows it.</summary>
    internal static void RegisterKnownType(ColumnType type)
    {
        lock (s_custom)
        {
            if (!s_custom.Contains(type)) s_custom.Add(type);
        }
    }

    private sealed class ScalarColumnType(string name, Type raw) : ColumnType
    {
        public override Type RawType => raw;
        public override bool Equals(ColumnType? other) => other is ScalarColumnType s && s.RawType == raw;
        public override string ToString() => name;
    }
}

/// <summary>A float32 tensor column (<see cref="Tensors.Tensor"/> values) with a fixed rank; -1 dimensions accept any size.</summary>
public sealed class TensorColumnType : ColumnType
{
    private readonly int[] _dimensions;

    internal TensorColumnType(int[] dimensions)
    {
        foreach (int d in dimensions)
        {
            if (d < -1 || d == 0) throw new ArgumentOutOfRangeException(nameof(dimensions), $"Tensor dimensions must be positive or -1 (any); got {Tensors.Tensor.Format(dimensions)}.");
        }
        _dimensions = (int[])dimensions.Clone();
    }

    /// <summary>The dimensions; -1 marks a dimension of any size.</summary>
    public ReadOnlySpan<int> Dimensions => _dimensions;

    /// <inheritdoc/>
    public override Type RawType => typeof(Tensor);

    /// <summary>Accepts a tensor type of the same rank whose every fixed dimension matches (a -1 here accepts anything).</summary>
    public override bool Accepts(ColumnType actual)
    {
        if (actual is not TensorColumnType t || t._dimensions.Length != _dimensions.Length) return false;
        for (int i = 0; i < _dimensions.Length; i++)
        {
            if (_dimensions[i] != -1 && t._dimensions[i] != _dimensions[i]) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override bool IsValidValue(object? value)
    {
        if (value is not Tensor t || t.Rank != _dimensions.Length) return false;
        for (int i = 0; i < _dimensions.Length; i++)
        {
            if (_dimensions[i] != -1 && t.Shape[i] != _dimensions[i]) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(ColumnType? other) => other is TensorColumnType t && t._dimensions.AsSpan().SequenceEqual(_dimensions);

    /// <inheritdoc/>
    public override string ToString() => "Tensor[" + string.Join(",", _dimensions.Select(d => d == -1 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + "]";
}

/// <summary>A column whose values are arrays of [C,H,W] float32 tensors, one per scale (multi-scale features or latents).</summary>
public sealed class FeatureMapsColumnType : ColumnType
{
    internal FeatureMapsColumnType(int scales)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scales, 1);
        Scales = scales;
    }

    /// <summary>The number of scales (tensors per value).</summary>
    public int Scales { get; }

    /// <inheritdoc/>
    public override Type RawType => typeof(Tensor[]);

    /// <inheritdoc/>
    public override bool IsValidValue(object? value) => value is Tensor[] maps && maps.Length == Scales && maps.All(m => m is not null && m.Rank == 3);

    /// <inheritdoc/>
    public override bool Equals(ColumnType? other) => other is FeatureMapsColumnType f && f.Scales == Scales;

    /// <inheritdoc/>
    public override string ToString() => $"FeatureMaps[{Scales.ToString(CultureInfo.InvariantCulture)}]";
}
