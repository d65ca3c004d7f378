namespace Microsoft.ML.UFlow.Metrics;

/// <summary>Receives packed pixels in non-decreasing key order (upper 32 bits), one segment at a time.</summary>
internal interface ISegmentSink
{
    /// <summary>A segment whose keys are ≥ every key passed before and ≤ every key still to come.</summary>
    void Consume(ReadOnlySpan<ulong> segment);
}
