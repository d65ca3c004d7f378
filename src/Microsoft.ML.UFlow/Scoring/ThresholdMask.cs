using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>mask[p] = values[p] &gt; threshold, vectorised; returns the number of set pixels (NaN is never set).</summary>
internal static class ThresholdMask
{
    public static int Apply(ReadOnlySpan<float> values, float threshold, Span<bool> mask)
    {
        if (mask.Length != values.Length)
        {
            throw new ArgumentException($"The mask has {mask.Length} values but the map has {values.Length}.", nameof(mask));
        }
        Span<byte> bytes = MemoryMarshal.AsBytes(mask);
        int count = 0, p = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> t = Vector256.Create(threshold);
            Vector256<sbyte> one = Vector256<sbyte>.One;
            ref float source = ref MemoryMarshal.GetReference(values);
            for (; p <= values.Length - 32; p += 32)
            {
                Vector256<int> a = Vector256.GreaterThan(Vector256.LoadUnsafe(ref source, (nuint)p), t).AsInt32();
                Vector256<int> b = Vector256.GreaterThan(Vector256.LoadUnsafe(ref source, (nuint)(p + 8)), t).AsInt32();
                Vector256<int> c = Vector256.GreaterThan(Vector256.LoadUnsafe(ref source, (nuint)(p + 16)), t).AsInt32();
                Vector256<int> d = Vector256.GreaterThan(Vector256.LoadUnsafe(ref source, (nuint)(p + 24)), t).AsInt32();
                Vector256<sbyte> hits = Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)); // −1 or 0 (truncation keeps −1)
                (hits & one).AsByte().CopyTo(bytes.Slice(p, 32));
                count += BitOperations.PopCount(hits.ExtractMostSignificantBits());
            }
        }
        for (; p < values.Length; p++)
        {
            bool hit = values[p] > threshold;
            mask[p] = hit;
            count += hit ? 1 : 0;
        }
        return count;
    }
}
