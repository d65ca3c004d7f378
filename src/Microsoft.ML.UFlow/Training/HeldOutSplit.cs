using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// Which normal training images are held out from training (to evaluate and calibrate the flow on images it never saw):
/// ⌈fraction·N⌉ of them, at least <see cref="MinimumHeldOut"/>, drawn from a seeded stream of their own, so that the same
/// seed, fraction and image count give the same slice (a continued training holds out the same images).
/// </summary>
internal sealed class HeldOutSplit
{
    /// <summary>The fewest images held out when the fraction is positive (fewer make a noisy calibration).</summary>
    public const int MinimumHeldOut = 4;

    /// <summary>The fewest images left to train on.</summary>
    public const int MinimumTraining = 4;

    // Keeps the slice's draws apart from the shuffle stream of the same seed ("HELDOUT" in ASCII).
    private const ulong StreamTag = 0x48454C444F5554UL;

    private HeldOutSplit(int count, int[] training, int[] heldOut)
    {
        Count = count;
        Training = training;
        HeldOut = heldOut;
    }

    /// <summary>The number of images split.</summary>
    public int Count { get; }

    /// <summary>The indices trained on, ascending.</summary>
    public int[] Training { get; }

    /// <summary>The indices held out, ascending (empty for fraction 0).</summary>
    public int[] HeldOut { get; }

    /// <summary>The split of <paramref name="count"/> images that holds out <paramref name="heldOut"/> (as a checkpoint recorded it).</summary>
    /// <exception cref="ArgumentException">An index is outside 0..count − 1, repeated or out of order.</exception>
    public static HeldOutSplit FromHeldOut(int count, int[] heldOut)
    {
        var isHeld = new bool[count];
        for (int i = 0; i < heldOut.Length; i++)
        {
            if ((uint)heldOut[i] >= (uint)count || (i > 0 && heldOut[i] <= heldOut[i - 1])) throw new ArgumentException($"The held-out indices are not ascending indices below {count}.", nameof(heldOut));
            isHeld[heldOut[i]] = true;
        }
        return new HeldOutSplit(count, Enumerable.Range(0, count).Where(i => !isHeld[i]).ToArray(), heldOut);
    }

    /// <summary>Whether <paramref name="other"/> holds out the same images of the same count.</summary>
    public bool SameAs(HeldOutSplit other) => Count == other.Count && HeldOut.AsSpan().SequenceEqual(other.HeldOut);

    /// <summary>Splits <paramref name="count"/> images.</summary>
    /// <param name="count">The number of normal training images.</param>
    /// <param name="fraction">The share held out, in [0, 1).</param>
    /// <param name="seed">The training seed.</param>
    /// <param name="owner">Names the caller in the error.</param>
    /// <exception cref="ArgumentException">Too few images remain to train on.</exception>
    public static HeldOutSplit Choose(int count, double fraction, int seed, string owner)
    {
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The held-out fraction must be in [0, 1).");
        if (fraction == 0) return new HeldOutSplit(count, Enumerable.Range(0, count).ToArray(), []);
        int held = Math.Max(MinimumHeldOut, (int)Math.Ceiling(fraction * count - 1e-9));
        if (count - held < MinimumTraining)
        {
            throw new ArgumentException(
                $"{owner}: {count} normal training images are too few to hold out {held} (held-out fraction {fraction}, at least {MinimumHeldOut}) and train on at least {MinimumTraining}; add images, or set the held-out fraction to 0 to train on all of them.");
        }
        int[] order = new SeededRandom((ulong)(uint)seed ^ StreamTag).Permutation(count);
        int[] heldOut = order[..held];
        Array.Sort(heldOut);
        var isHeld = new bool[count];
        foreach (int i in heldOut) isHeld[i] = true;
        int[] training = Enumerable.Range(0, count).Where(i => !isHeld[i]).ToArray();
        return new HeldOutSplit(count, training, heldOut);
    }
}
