using Microsoft.ML.UFlow.Api.AnomalyDetection;

namespace Microsoft.ML.UFlow.Tests.Api;

/// <summary>The trainers' default threshold: the training maximum, and a clear divergence error for NaN/infinite scores.</summary>
public sealed class TrainingThresholdTests
{
    [Fact]
    public void ThresholdIsTheHighestTrainingScore()
    {
        float[] scores = [0.5f, -2f, 3.25f, 1f];
        Assert.Equal(3.25f, TrainingThreshold.FromTrainingScores("T", scores.Length, i => scores[i]));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void ANonFiniteTrainingScoreIsReportedAsDivergence(float bad)
    {
        float[] scores = [0.5f, 1f, bad, 2f];
        var e = Assert.Throws<InvalidOperationException>(() => TrainingThreshold.FromTrainingScores("UFlowTrainer", scores.Length, i => scores[i]));
        Assert.Contains("UFlowTrainer: training diverged", e.Message);
        Assert.Contains("training row 2", e.Message);
    }
}
