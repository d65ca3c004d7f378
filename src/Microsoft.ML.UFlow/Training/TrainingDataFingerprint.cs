using System.Globalization;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Training;

/// <summary>
/// What a training remembers of its features, so that a continued run (a checkpoint, or another
/// <c>Train</c> call) can refuse other data of the same shape: another layer (<c>layer3</c> for <c>layer3_act</c>),
/// another preprocessing, other images. It holds the mean and the root mean square of every scale of the first and the
/// last sample, and compares them with a tolerance rather than bit for bit, because features recomputed on another
/// machine (other SIMD kernels in ONNX Runtime) may differ in their last bits while any real change moves them by far more.
/// </summary>
internal sealed class TrainingDataFingerprint
{
    /// <summary>Allowed difference, relative to the larger root mean square of the scale and sample compared.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>The most values a checkpoint may claim (two samples × scales × two statistics; flows have a few scales).</summary>
    private const int MaxValues = 4 * 64;

    // Per sample (first, last), per scale: mean, root mean square.
    private readonly double[] _values;

    private TrainingDataFingerprint(double[] values) => _values = values;

    /// <summary>Reads the first and last samples of <paramref name="source"/> (one batch of two) and summarises every scale.</summary>
    public static TrainingDataFingerprint Of(IFeatureBatchSource source, int scales)
    {
        var tensors = new Tensor[scales];
        for (int s = 0; s < scales; s++) tensors[s] = new Tensor(1);
        source.ReadBatch([0, source.Count - 1], tensors);
        var values = new double[2 * scales * 2];
        for (int sample = 0; sample < 2; sample++)
        {
            for (int s = 0; s < scales; s++)
            {
                (double mean, double rms) = Moments(tensors[s].Sample(sample));
                values[(sample * scales + s) * 2] = mean;
                values[(sample * scales + s) * 2 + 1] = rms;
            }
        }
        return new TrainingDataFingerprint(values);
    }

    /// <summary>
    /// Summarises every scale of the first and the last sample, given as their values (one array per scale, finest
    /// first): the same statistics as <see cref="Of"/>, for features held elsewhere (TorchSharp tensors).
    /// </summary>
    public static TrainingDataFingerprint OfSamples(IReadOnlyList<float[]> first, IReadOnlyList<float[]> last)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(last);
        if (first.Count != last.Count) throw new ArgumentException($"The first sample has {first.Count} scales and the last {last.Count}.", nameof(last));
        int scales = first.Count;
        var values = new double[2 * scales * 2];
        for (int sample = 0; sample < 2; sample++)
        {
            for (int s = 0; s < scales; s++)
            {
                (double mean, double rms) = Moments((sample == 0 ? first : last)[s]);
                values[(sample * scales + s) * 2] = mean;
                values[(sample * scales + s) * 2 + 1] = rms;
            }
        }
        return new TrainingDataFingerprint(values);
    }

    /// <summary>Writes the values (count, then doubles).</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(_values.Length);
        foreach (double v in _values) writer.Write(v);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public static TrainingDataFingerprint Read(FlowBinaryReader reader)
    {
        int count = reader.ReadInt32("the number of feature statistics", 4, MaxValues);
        if (count % 4 != 0) throw reader.Bad($"the number of feature statistics {count} is not a multiple of 4");
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = reader.ReadDouble();
            if (!double.IsFinite(values[i]) || (i % 2 == 1 && values[i] < 0)) throw reader.Bad($"feature statistic {i} is {values[i]}");
        }
        return new TrainingDataFingerprint(values);
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> when <paramref name="current"/> (the data offered now) is not the data
    /// this fingerprint was taken from, naming the first scale and statistic that differ.
    /// </summary>
    public void RequireSame(TrainingDataFingerprint current, int completedEpochs, string parameterName)
    {
        int scales = _values.Length / 4;
        if (current._values.Length != _values.Length)
        {
            throw new ArgumentException($"The training features have {current._values.Length / 4} scales, but the {completedEpochs} epochs already completed used {scales}; a continued run needs the same training data.", parameterName);
        }
        for (int i = 0; i < _values.Length; i += 2)
        {
            double rms = Math.Max(_values[i + 1], current._values[i + 1]);
            double limit = Tolerance * rms;
            bool meanDiffers = Math.Abs(_values[i] - current._values[i]) > limit;
            bool rmsDiffers = Math.Abs(_values[i + 1] - current._values[i + 1]) > limit;
            if (!meanDiffers && !rmsDiffers) continue;
            int sample = i / 2 / scales, scale = i / 2 % scales;
            string which = sample == 0 ? "first" : "last";
            string what = meanDiffers ? "mean" : "root mean square";
            int k = meanDiffers ? i : i + 1;
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The training features are not those the {completedEpochs} epochs already completed used: the {what} of scale {scale + 1} of the {which} sample is {current._values[k]:G6}, was {_values[k]:G6} (another layer, preprocessing or data set?); a continued run needs the same training data."), parameterName);
        }
    }

    // Accumulated in double: the statistics must not depend on float rounding that last-bit changes of the input could move.
    private static (double Mean, double Rms) Moments(ReadOnlySpan<float> values)
    {
        double sum = 0, squares = 0;
        foreach (float v in values)
        {
            sum += v;
            squares += (double)v * v;
        }
        return (sum / values.Length, Math.Sqrt(squares / values.Length));
    }
}
