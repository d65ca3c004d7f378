namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Maps float scores to unsigned keys whose integer order is the score order, so that pixels can be packed into
/// 64-bit words and sorted as integers. +0 and -0 map to the same key (they are equal scores); NaN is rejected.
/// </summary>
internal static class ScoreKey
{
    /// <summary>Ascending key: a &lt; b ⇔ Ascending(a) &lt; Ascending(b).</summary>
    public static uint Ascending(float score)
    {
        if (score == 0f) score = 0f; // folds -0 onto +0
        uint bits = BitConverter.SingleToUInt32Bits(score);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    /// <summary>Descending key: a &gt; b ⇔ Descending(a) &lt; Descending(b).</summary>
    public static uint Descending(float score) => ~Ascending(score);

    /// <summary>Inverse of <see cref="Descending"/>.</summary>
    public static float FromDescending(uint key)
    {
        uint ascending = ~key;
        uint bits = (ascending & 0x8000_0000u) != 0 ? ascending & 0x7FFF_FFFFu : ~ascending;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>Inverse of <see cref="Ascending"/>.</summary>
    public static float FromAscending(uint key) => FromDescending(~key);

    /// <summary>Throws when a score is NaN, naming the argument and the position.</summary>
    public static void ThrowIfNaN(ReadOnlySpan<float> scores, string paramName)
    {
        for (int i = 0; i < scores.Length; i++)
        {
            if (float.IsNaN(scores[i])) throw new ArgumentException($"Score at index {i} is NaN; metrics need ordered scores.", paramName);
        }
    }
}
