namespace Microsoft.ML.UFlow.Api.AnomalyDetection;

/// <summary>The default threshold of a trained model: the highest score among the training images (none of them is flagged).</summary>
internal static class TrainingThreshold
{
    /// <summary>
    /// The maximum of <paramref name="scoreOf"/> over rows 0..<paramref name="count"/>-1. A score that is NaN or infinite
    /// means the trained model is numerically broken (training diverged), so it is reported as such, naming the
    /// trainer and the row, instead of surfacing later as an unhelpful "threshold is NaN" argument error.
    /// </summary>
    /// <exception cref="InvalidOperationException">A training score is NaN or infinite.</exception>
    public static float FromTrainingScores(string trainer, int count, Func<int, float> scoreOf)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < count; i++)
        {
            float score = scoreOf(i);
            if (!float.IsFinite(score))
            {
                throw new InvalidOperationException(
                    $"{trainer}: training diverged: the trained model scores training row {i} as {score}, so no anomaly threshold can be derived " +
                    "from the training scores. Train again with a lower learning rate or fewer epochs, and check the features for NaN or infinite values.");
            }
            max = MathF.Max(max, score);
        }
        return max;
    }
}
