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
}
