namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>Records a trainer's progress reports synchronously (<see cref="Progress{T}"/> posts them later).</summary>
internal sealed class ProgressLog : IProgress<TrainingProgress>
{
    public List<TrainingProgress> Reports { get; } = [];

    /// <summary>The "train" reports.</summary>
    public IEnumerable<TrainingProgress> Training => Reports.Where(r => r.Phase == "train");

    public void Report(TrainingProgress value) => Reports.Add(value);
}
