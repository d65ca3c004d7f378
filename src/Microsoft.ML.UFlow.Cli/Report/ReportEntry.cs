namespace Microsoft.ML.UFlow.Cli.Report;

/// <summary>One test image of the visual report: its facts and the PNG files (relative to the report folder) showing it.</summary>
internal sealed record ReportEntry(
    string Name,
    string Group,
    bool IsAnomalous,
    float Score,
    float MaxNegativeLog10Nfa,
    int DetectedPixels,
    string InputPng,
    string GroundTruthPng,
    string HeatMapPng,
    string NfaPng);
