using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Api.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Api;

public sealed class EvaluatorTests
{
    private static readonly UFlowContext s_ctx = new();

    private static IDataView Scored(params (bool Label, float Score, float[] Map, float[] Mask, float[] Gt)[] rows)
    {
        var schema = new DataSchema([
            new SchemaColumn(DataCatalog.LabelColumn, ColumnType.Boolean),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn(UFlowColumns.AnomalyMap, ColumnType.Tensor(2, 2)),
            new SchemaColumn(UFlowColumns.SegmentationMask, ColumnType.Tensor(2, 2)),
            new SchemaColumn(UFlowColumns.GroundTruth, ColumnType.Tensor(2, 2)),
        ]);
        return s_ctx.Data.LoadFromRows(schema, rows.Select(r => new object?[] { r.Label, r.Score, new Tensor(r.Map, 2, 2), new Tensor(r.Mask, 2, 2), new Tensor(r.Gt, 2, 2) }));
    }

    [Fact]
    public void ImageAurocCountsTiesAsHalf()
    {
        var data = Scored(
            (false, 0.1f, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            (false, 0.5f, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            (true, 0.5f, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            (true, 0.9f, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]));
        var m = s_ctx.AnomalyDetection.Evaluate(data);
        // pairs (anomalous, normal): (0.5,0.1)=1, (0.5,0.5)=½, (0.9,0.1)=1, (0.9,0.5)=1 → 3.5/4
        Assert.Equal(0.875, m.AreaUnderRocCurve, 12);
        Assert.Equal(4, m.ImageCount);
        Assert.Equal(2, m.AnomalousImageCount);
    }

    [Fact]
    public void SegmentationMetricsOnAHandCase()
    {
        var data = Scored(
            (true, 0.9f, [0.9f, 0.1f, 0.2f, 0.3f], [1, 0, 0, 0], [1, 0, 0, 0]),   // perfect map and mask, IoU 1
            (false, 0.4f, [0.4f, 0.1f, 0.1f, 0.1f], [0, 1, 0, 0], [0, 0, 0, 0]),  // a false alarm: IoU ≈ 0
            (false, 0.2f, [0.2f, 0.1f, 0.1f, 0.1f], [0, 0, 0, 0], [0, 0, 0, 0])); // clean normal image: IoU 1
        var m = s_ctx.AnomalyDetection.EvaluateSegmentation(data);
        Assert.Equal(1.0, m.PixelAuroc, 12);
        Assert.Equal(1.0, m.F1MaxPixel, 12);
        Assert.Equal(2.0 / 3.0, m.MeanIouAtNfa, 6);
        Assert.Equal(1, m.FalseAlarmImages);
        Assert.Equal(3, m.ImageCount);
        Assert.Equal(1, m.RegionCount);
    }

    [Fact]
    public void EvaluatorsNameTheMissingColumn()
    {
        var data = new InMemoryDataView(new DataSchema([new SchemaColumn(DataCatalog.LabelColumn, ColumnType.Boolean)]), [[true]]);
        var e = Assert.Throws<SchemaMismatchException>(() => s_ctx.AnomalyDetection.Evaluate(data));
        Assert.Equal(UFlowColumns.Score, e.ColumnName);
        var s = Assert.Throws<SchemaMismatchException>(() => s_ctx.AnomalyDetection.EvaluateSegmentation(data));
        Assert.Equal(UFlowColumns.GroundTruth, s.ColumnName);
    }

    [Fact]
    public void ByDefectTypeUsesThePredictedLabelsAndMasksWhenTheViewHasThem()
    {
        var schema = new DataSchema([
            new SchemaColumn(DataCatalog.DefectTypeColumn, ColumnType.Text),
            new SchemaColumn(DataCatalog.LabelColumn, ColumnType.Boolean),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn(UFlowColumns.PredictedLabel, ColumnType.Boolean),
            new SchemaColumn(UFlowColumns.SegmentationMask, ColumnType.Tensor(2, 2)),
            new SchemaColumn(UFlowColumns.GroundTruth, ColumnType.Tensor(2, 2)),
        ]);
        object?[] Row(string type, bool label, float score, bool flagged, float[] mask, float[] gt) =>
            [type, label, score, flagged, new Tensor(mask, 2, 2), new Tensor(gt, 2, 2)];
        var data = s_ctx.Data.LoadFromRows(schema, [
            Row("good", false, 0.2f, false, [0, 0, 0, 0], [0, 0, 0, 0]),
            Row("good", false, 0.6f, true, [0, 1, 0, 0], [0, 0, 0, 0]),
            Row("scratch", true, 0.9f, true, [1, 0, 0, 0], [1, 1, 0, 0]),   // IoU 1/2
            Row("hole", true, 0.4f, false, [0, 0, 0, 0], [0, 0, 1, 0]),     // missed
        ]);
        var m = s_ctx.AnomalyDetection.EvaluateByDefectType(data);
        Assert.Equal(["good", "hole", "scratch"], m.Select(t => t.DefectType));
        Assert.Equal([1, 0, 1], m.Select(t => t.FlaggedImageCount!.Value));
        Assert.Equal([1, 0, 1], m.Select(t => t.Segmentation!.ImagesWithDetection));
        Assert.Equal(0.5, m[1].ImageAuroc, 12); // 0.4: above 0.2, below 0.6
        Assert.Equal(1.0, m[2].ImageAuroc, 12);
        Assert.Equal(0.5, m[2].Segmentation!.MeanIou, 12);
        Assert.Equal(1.0, m[2].Segmentation!.Precision, 12);
        Assert.Equal(0.5, m[2].Segmentation!.Recall, 12);
        // The U-Flow mIoU of the whole set is the image-weighted mean of the types'.
        var whole = s_ctx.AnomalyDetection.EvaluateSegmentation(s_ctx.Data.LoadFromRows(
            new DataSchema([schema[1], new SchemaColumn(UFlowColumns.AnomalyMap, ColumnType.Tensor(2, 2)), schema[4], schema[5]]),
            data.GetRows().Select(r => new object?[] { r[1], r[4], r[4], r[5] })));
        Assert.Equal(whole.MeanIouAtNfa, m.Sum(t => t.Segmentation!.MeanIou * t.ImageCount) / 4, 12);
    }

    [Fact]
    public void ByDefectTypeNeedsOnlyTypeLabelAndScore()
    {
        var schema = new DataSchema([
            new SchemaColumn(DataCatalog.DefectTypeColumn, ColumnType.Text),
            new SchemaColumn(DataCatalog.LabelColumn, ColumnType.Boolean),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
        ]);
        var data = s_ctx.Data.LoadFromRows(schema, [["good", false, 0.1f], ["dent", true, 0.3f]]);
        var m = s_ctx.AnomalyDetection.EvaluateByDefectType(data);
        Assert.All(m, t => Assert.Null(t.FlaggedImageCount));
        Assert.All(m, t => Assert.Null(t.Segmentation));
        var missing = new InMemoryDataView(new DataSchema([schema[1], schema[2]]), [[true, 0.5f]]);
        var e = Assert.Throws<SchemaMismatchException>(() => s_ctx.AnomalyDetection.EvaluateByDefectType(missing));
        Assert.Equal(DataCatalog.DefectTypeColumn, e.ColumnName);
    }

    [Fact]
    public void ByDefectTypeRefusesAnOptionalColumnNamedButAbsent()
    {
        var schema = new DataSchema([
            new SchemaColumn(DataCatalog.DefectTypeColumn, ColumnType.Text),
            new SchemaColumn(DataCatalog.LabelColumn, ColumnType.Boolean),
            new SchemaColumn(UFlowColumns.Score, ColumnType.Single),
            new SchemaColumn("Flag", ColumnType.Boolean),
        ]);
        var data = s_ctx.Data.LoadFromRows(schema, [["good", false, 0.1f, false], ["dent", true, 0.3f, true]]);
        Assert.Equal([0, 1], s_ctx.AnomalyDetection.EvaluateByDefectType(data, predictedLabelColumnName: "Flag").Select(t => t.FlaggedImageCount!.Value));
        var e = Assert.Throws<SchemaMismatchException>(() => s_ctx.AnomalyDetection.EvaluateByDefectType(data, predictedLabelColumnName: "Flagg"));
        Assert.Equal("Flagg", e.ColumnName);
        e = Assert.Throws<SchemaMismatchException>(() => s_ctx.AnomalyDetection.EvaluateByDefectType(data, groundTruthColumnName: "Truth"));
        Assert.Equal("Truth", e.ColumnName);
        // A present optional column of the wrong type is refused too.
        e = Assert.Throws<SchemaMismatchException>(() => s_ctx.AnomalyDetection.EvaluateByDefectType(data, predictedLabelColumnName: UFlowColumns.Score));
        Assert.Equal(UFlowColumns.Score, e.ColumnName);
    }
}
