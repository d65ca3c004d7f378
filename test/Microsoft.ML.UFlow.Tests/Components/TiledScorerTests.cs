using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>
/// A model trained on tiles through the public API (<see cref="ImageTileData"/>, <see cref="UFlowTrainer.Options.Tiling"/>)
/// records its tiling, stays an ordinary ML.NET model that scores one tile, and <see cref="TiledAnomalyScorer"/> stitches
/// whole images from it: where one tile alone covers a pixel, the stitched map is that tile's own prediction (scored
/// through the stock model from a file) and −log10 NFA is the tile's minus log10 n_tiles.
/// </summary>
public sealed class TiledScorerTests
{
    [SharedDataFact]
    public void A_tiled_model_records_its_tiles_and_the_scorer_stitches_the_tiles_own_predictions()
    {
        using var bottle = new TinyBottle(train: 2, testPerType: 1);
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(bottle.Folder, AnomalyImageSplit.Train);
        var tiling = new ImageTiling(256, 32);
        IDataView tiles = ImageTileData.Load(train.GetColumn<string>(AnomalyColumns.ImagePath), tiling);
        Assert.Equal(2 * 16, tiles.GetRowCount()); // 900x900: 4 × 4 tiles each
        var loader = ml.Transforms.LoadImages(AnomalyColumns.Image, imageFolder: null, inputColumnName: AnomalyColumns.ImagePath).Fit(train);
        var rest = ml.Transforms.ResizeImages(AnomalyColumns.Image, 256, 256)
            .Append(ml.Transforms.ApplyOnnxFeaturizer(AnomalyColumns.Features, AnomalyColumns.Image, TinyBottle.MobileNetV2, ["stride4", "stride8", "stride16"]))
            .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, BatchSize = 8, HeldOutFraction = 0, Tiling = tiling }))
            .Append(ml.Transforms.SegmentWithNfa())
            .Fit(tiles);
        ITransformer fitted = new TransformerChain<ITransformer>([loader, .. (IEnumerable<ITransformer>)rest]);
        string modelPath = Path.Combine(bottle.Folder, "tiled.zip");
        ml.Model.Save(fitted, train.Schema, modelPath);
        (fitted as IDisposable)?.Dispose();

        var facts = UFlowModelInfo.Read(modelPath);
        Assert.Equal(tiling, facts.Tiling);
        Assert.Equal((256, 256), (facts.InputWidth, facts.InputHeight));
        Assert.Equal("256", facts.Properties[FlowMetadataKeys.TileSize]);
        ITransformer model = UFlowModelFile.Load(new MLContext(), modelPath, out _);

        string image = Directory.GetFiles(Path.Combine(bottle.Folder, "test", "broken_large"), "*.png").Single();
        var scorer = new TiledAnomalyScorer(model);
        Assert.Equal(tiling, scorer.Tiling);
        Assert.True(scorer.HasNfa);
        TiledPrediction whole = scorer.Score(image);
        Assert.Equal((900, 900, 16), (whole.Width, whole.Height, whole.TileCount));
        Assert.Equal(900 * 900, whole.AnomalyMap.Length);
        Assert.Equal(900 * 900, whole.LogNfa.Length);
        Assert.Equal(Math.Log10(16), whole.Log10TileCount, 12);

        // The top-left tile through the stock model, from a PNG of its pixels: columns and rows 0..223 are its alone.
        string tilePath = Path.Combine(bottle.Folder, "tile00.png");
        using (SKBitmap source = ImageDecoder.DecodeToBitmap(image))
        using (var cropped = new SKBitmap(new SKImageInfo(256, 256, source.ColorType, source.AlphaType)))
        {
            Assert.True(source.ExtractSubset(cropped, new SKRectI(0, 0, 256, 256)));
            using var copy = cropped.Copy();
            PngEncoder.Save(copy, tilePath);
        }
        using var engine = new MLContext().Model.CreatePredictionEngine<ImageInput, UFlowPrediction>(model);
        UFlowPrediction tile = engine.Predict(new ImageInput { ImagePath = tilePath });
        Assert.Equal(256 * 256, tile.AnomalyMap.Length);
        Assert.True(whole.Score >= tile.Score);
        foreach (var (x, y) in new[] { (0, 0), (100, 37), (223, 223), (5, 200) })
        {
            Assert.Equal(tile.AnomalyMap[y * 256 + x], whole.AnomalyMap[y * 900 + x], 1e-6);
            Assert.Equal(tile.LogNfa[y * 256 + x] - Math.Log10(16), whole.LogNfa[y * 900 + x], 1e-2);
            Assert.Equal(whole.LogNfa[y * 900 + x] > 0, whole.SegmentationMask[y * 900 + x]);
        }
        // Where tiles overlap (x 224..255 of row 10: the first and second tile), the map is their mean, so it may differ from the first's.
        Assert.InRange(whole.AnomalyMap[10 * 900 + 240], 0, 1);
    }

    [SharedDataFact]
    public void A_model_of_whole_images_is_refused_without_a_tiling_and_images_smaller_than_a_tile_are_named()
    {
        using var bottle = new TinyBottle(train: 2, testPerType: 1);
        var ml = new MLContext(seed: 0);
        IDataView train = ml.Data.LoadAnomalyImages(bottle.Folder, AnomalyImageSplit.Train);
        var model = ml.Transforms.LoadImages(AnomalyColumns.Image, imageFolder: null, inputColumnName: AnomalyColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages(AnomalyColumns.Image, 64, 64, resizing: ImageResizingEstimator.ResizingKind.Fill))
            .Append(ml.Transforms.ApplyOnnxFeaturizer(AnomalyColumns.Features, AnomalyColumns.Image, TinyBottle.MobileNetV2, ["stride4", "stride8", "stride16"]))
            .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1, HeldOutFraction = 0 }))
            .Append(ml.Transforms.SegmentWithNfa())
            .Fit(train);
        var e = Assert.Throws<ArgumentException>(() => new TiledAnomalyScorer(model));
        Assert.Contains("not trained on tiles", e.Message);
        // An explicit tiling scores tiles of any model; a 900x900 image is smaller than a 1024 tile, said with its name.
        var scorer = new TiledAnomalyScorer(model, new ImageTiling(1024, 0));
        string image = Directory.GetFiles(Path.Combine(bottle.Folder, "test", "good"), "*.png").Single();
        var small = Assert.Throws<ArgumentException>(() => scorer.Score(image));
        Assert.Contains($"The image '{image}' is 900x900 (W×H), smaller than one 1024x1024 tile", small.Message);
        Assert.Contains("smaller than one 1024x1024 tile",
            Assert.Throws<ArgumentException>(() => ImageTileData.Load([image], new ImageTiling(1024, 32))).Message);
        Assert.Throws<FileNotFoundException>(() => ImageTileData.Load([Path.Combine(bottle.Folder, "missing.png")], new ImageTiling(64, 0)));
        (model as IDisposable)?.Dispose();
    }
}
