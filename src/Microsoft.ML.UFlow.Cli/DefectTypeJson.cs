using System.Text.Json.Nodes;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// The JSON form of <see cref="DefectTypeMetrics"/> that <c>uflow eval</c> and <c>uflow bench quality</c> both write, so
/// that the two files use one set of names; undefined values (NaN, or no predicted labels / masks) are null.
/// </summary>
internal static class DefectTypeJson
{
    public static JsonObject Of(DefectTypeMetrics t)
    {
        static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        DefectTypeSegmentation? s = t.Segmentation;
        return new JsonObject
        {
            ["defect_type"] = t.DefectType,
            ["anomalous"] = t.IsAnomalous,
            ["n_images"] = t.ImageCount,
            ["image_auroc"] = Number(t.ImageAuroc),
            ["flagged_images"] = t.FlaggedImageCount,
            ["nfa_detected_images"] = s?.ImagesWithDetection,
            ["miou_nfa"] = s is null ? null : Number(s.MeanIou),
            ["pixel_precision"] = s is null ? null : Number(s.Precision),
            ["pixel_recall"] = s is null ? null : Number(s.Recall),
        };
    }

    public static JsonArray Of(IEnumerable<DefectTypeMetrics> types) => new(types.Select(t => (JsonNode?)Of(t)).ToArray());
}
