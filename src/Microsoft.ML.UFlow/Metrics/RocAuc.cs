namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Exact area under the ROC curve (sklearn <c>roc_auc_score</c>): equal scores form one ROC point, so a tied
/// (anomalous, normal) pair counts ½. Computed from integer counts (the probability that a random anomalous
/// sample outscores a random normal one, ties ½), hence exact up to the final division.
/// </summary>
public static class RocAuc
{
    /// <summary>AUROC of <paramref name="scores"/> (higher = more anomalous) against <paramref name="labels"/> (true = anomalous).</summary>
    /// <returns>The AUROC, or NaN when one of the two classes is absent (the metric is undefined).</returns>
    /// <exception cref="ArgumentException">Lengths differ or a score is NaN.</exception>
    public static double Compute(ReadOnlySpan<double> scores, ReadOnlySpan<bool> labels)
    {
        if (scores.Length != labels.Length) throw new ArgumentException($"{labels.Length} labels for {scores.Length} scores.", nameof(labels));
        var keys = scores.ToArray();
        for (int i = 0; i < keys.Length; i++)
        {
            if (double.IsNaN(keys[i])) throw new ArgumentException($"Score at index {i} is NaN.", nameof(scores));
        }
        var items = labels.ToArray();
        Array.Sort(keys, items); // ascending; the walk goes from the end
        var auc = new Accumulator();
        int end = keys.Length;
        while (end > 0)
        {
            int start = end - 1;
            while (start > 0 && keys[start - 1] == keys[end - 1]) start--;
            long pos = 0;
            for (int i = start; i < end; i++) if (items[i]) pos++;
            auc.AddGroup(pos, end - start - pos);
            end = start;
        }
        return auc.Result;
    }

    /// <summary>
    /// Streaming AUROC over groups of equal scores visited in descending score order.
    /// Twice the area times P·N is Σ_groups neg_g · (2·pos_above + pos_g), an exact integer.
    /// </summary>
    internal struct Accumulator
    {
        private Int128 _twiceArea;
        public long Positives { get; private set; }
        public long Negatives { get; private set; }

        public void AddGroup(long positives, long negatives)
        {
            _twiceArea += (Int128)negatives * (2 * (Int128)Positives + positives);
            Positives += positives;
            Negatives += negatives;
        }

        public readonly double Result =>
            Positives == 0 || Negatives == 0 ? double.NaN : (double)_twiceArea / (2.0 * Positives * (double)Negatives);
    }
}
