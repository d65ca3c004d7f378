namespace Microsoft.ML.UFlow.Api;

/// <summary>Anomaly detection: trainers, segmentation, evaluators, thresholds (ML.NET's <c>AnomalyDetectionCatalog</c>).</summary>
public sealed partial class AnomalyDetectionCatalog
{
    internal AnomalyDetectionCatalog(UFlowContext context)
    {
        Context = context;
        Trainers = new AnomalyDetectionTrainers(context);
    }

    internal UFlowContext Context { get; }

    /// <summary>The anomaly-detection trainers.</summary>
    public AnomalyDetectionTrainers Trainers { get; }
}

/// <summary>The trainers of <see cref="AnomalyDetectionCatalog"/>.</summary>
public sealed partial class AnomalyDetectionTrainers
{
    internal AnomalyDetectionTrainers(UFlowContext context) => Context = context;

    internal UFlowContext Context { get; }
}
