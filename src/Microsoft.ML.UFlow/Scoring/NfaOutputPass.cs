using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The last pass of the NFA segmentation, fused: turns the minimum over scales M into −log10 NFA = −(log10 N_T + M)
/// in place, writes the mask (−log10 NFA &gt; threshold), and returns the detected count and the maximum.
/// </summary>
internal static class NfaOutputPass
{
    public static int Apply(Span<float> values, float log10NumberOfTests, float threshold, Span<bool> mask, out float max)
    {
        if (mask.Length != values.Length)
        {
            throw new ArgumentException($"The mask has {mask.Length} values but the map has {values.Length}.", nameof(mask));
        }
        Span<byte> bytes = MemoryMarshal.AsBytes(mask);
        int count = 0, p = 0;
        max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && values.Length >= 32)
        {
            Vector256<float> t = Vector256.Create(threshold), nt = Vector256.Create(log10NumberOfTests);
            Vector256<float> best = Vector256.Create(float.NegativeInfinity);
            ref float v = ref MemoryMarshal.GetReference(values);
            for (; p <= values.Length - 32; p += 32)
            {
                Vector256<float> a = -(Vector256.LoadUnsafe(ref v, (nuint)p) + nt);
                Vector256<float> b = -(Vector256.LoadUnsafe(ref v, (nuint)(p + 8)) + nt);
                Vector256<float> c = -(Vector256.LoadUnsafe(ref v, (nuint)(p + 16)) + nt);
                Vector256<float> d = -(Vector256.LoadUnsafe(ref v, (nuint)(p + 24)) + nt);
                a.StoreUnsafe(ref v, (nuint)p);
                b.StoreUnsafe(ref v, (nuint)(p + 8));
                c.StoreUnsafe(ref v, (nuint)(p + 16));
                d.StoreUnsafe(ref v, (nuint)(p + 24));
                best = Vector256.Max(best, Vector256.Max(Vector256.Max(a, b), Vector256.Max(c, d)));
                Vector256<sbyte> hits = Vector256.Narrow(
                    Vector256.Narrow(Vector256.GreaterThan(a, t).AsInt32(), Vector256.GreaterThan(b, t).AsInt32()),
                    Vector256.Narrow(Vector256.GreaterThan(c, t).AsInt32(), Vector256.GreaterThan(d, t).AsInt32())); // −1 or 0
                (hits & Vector256<sbyte>.One).AsByte().CopyTo(bytes.Slice(p, 32));
                count += BitOperations.PopCount(hits.ExtractMostSignificantBits());
            }
            for (int k = 0; k < Vector256<float>.Count; k++)
            {
                max = Math.Max(max, best[k]);
            }
        }
        for (; p < values.Length; p++)
        {
            float value = -(values[p] + log10NumberOfTests);
            values[p] = value;
            bool hit = value > threshold;
            mask[p] = hit;
            count += hit ? 1 : 0;
            max = Math.Max(max, value);
        }
        return count;
    }
}
