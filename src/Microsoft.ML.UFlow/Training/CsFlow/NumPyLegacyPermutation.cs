namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// The channel permutations of the official CS-Flow code (METHOD.md C.2): <c>np.random.seed(k)</c>, then successive
/// <c>np.random.permutation(C)</c> draws, reproduced exactly: NumPy's legacy <c>RandomState</c> is a Mersenne Twister
/// (MT19937) seeded with <c>init_genrand</c>, and <c>permutation</c> shuffles <c>arange(C)</c> by Fisher–Yates from the
/// last element down, drawing each index j ∈ [0, i] by masked rejection of 32-bit outputs.
/// </summary>
/// <remarks>Written from the algorithms' published descriptions; checked against NumPy's output in the tests.</remarks>
internal sealed class NumPyLegacyPermutation
{
    private const int StateLength = 624;
    private const int Shift = 397;
    private const uint MatrixA = 0x9908b0df;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7fffffff;

    private readonly uint[] _state = new uint[StateLength];
    private int _position;

    /// <summary>The state of <c>np.random.seed(seed)</c>.</summary>
    public NumPyLegacyPermutation(uint seed)
    {
        _state[0] = seed;
        for (int i = 1; i < StateLength; i++)
        {
            uint previous = _state[i - 1];
            _state[i] = unchecked(1812433253u * (previous ^ (previous >> 30)) + (uint)i);
        }
        _position = StateLength;
    }

    /// <summary>The next <c>np.random.permutation(n)</c>.</summary>
    public int[] Next(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var result = new int[n];
        for (int i = 0; i < n; i++) result[i] = i;
        for (int i = n - 1; i >= 1; i--)
        {
            int j = (int)Interval((uint)i);
            (result[i], result[j]) = (result[j], result[i]);
        }
        return result;
    }

    /// <summary>Three permutations of <paramref name="channels"/> after <c>np.random.seed(block)</c>, scale 0 first.</summary>
    public static int[][] ForBlock(int block, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        var numpy = new NumPyLegacyPermutation((uint)block);
        return [numpy.Next(channels), numpy.Next(channels), numpy.Next(channels)];
    }

    // NumPy's random_interval for max ≤ 2³²−1: the smallest all-ones mask ≥ max, redrawn until the masked value fits.
    private uint Interval(uint max)
    {
        uint mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > max)
        {
        }
        return value;
    }

    private uint NextUInt32()
    {
        if (_position == StateLength) Generate();
        uint y = _state[_position++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    private void Generate()
    {
        for (int i = 0; i < StateLength; i++)
        {
            uint y = (_state[i] & UpperMask) | (_state[(i + 1) % StateLength] & LowerMask);
            _state[i] = _state[(i + Shift) % StateLength] ^ (y >> 1) ^ ((y & 1) != 0 ? MatrixA : 0);
        }
        _position = 0;
    }
}
