namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>
/// One test image of the visual report: its facts and the PNG files (relative to the report folder) showing it. The NFA
/// fields are null for models without the a-contrario segmentation (CS-Flow).
/// </summary>
internal sealed record ReportEntry(
    string Name,
    string Group,
    bool IsAnomalous,
    float Score,
    bool PredictedAnomalous,
    float? MaxNegativeLog10Nfa,
    int? DetectedPixels,
    string InputPng,
    string GroundTruthPng,
    string HeatMapPng,
    string? NfaPng);
