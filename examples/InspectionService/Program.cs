using Microsoft.ML;
using Microsoft.ML.UFlow;

// An inspection station's service: load a model trained elsewhere (for example by examples/BottleAnomalyDetection or
// `uflow train`), score every image of a folder one at a time as requests would come, print a verdict per image and write
// an overlay (heat map and, for U-Flow models, the NFA segmentation's contour) beside each. Inference only: it
// references the Microsoft.ML.UFlow package and no libtorch backend.
// Usage: dotnet run --project examples/InspectionService -c Release -- MODEL_ZIP IMAGE_FOLDER [OVERLAY_FOLDER]
// (OVERLAY_FOLDER defaults to overlays/ in the current folder). Exit code: 0 done, 1 a bad model or folder, 2 usage.
if (args.Length is < 2 or > 3)
{
    Console.Error.WriteLine("usage: InspectionService MODEL_ZIP IMAGE_FOLDER [OVERLAY_FOLDER]");
    return 2;
}
string modelPath = args[0], imageFolder = args[1];
string overlayFolder = args.Length > 2 ? args[2] : "overlays";

try
{
    var ml = new MLContext();
    ITransformer model = UFlowModelFile.Load(ml, modelPath, out DataViewSchema inputSchema);
    var facts = UFlowModelInfo.Read(modelPath);
    string[] images = Inspection.Images(imageFolder);
    Directory.CreateDirectory(overlayFolder);
    Console.WriteLine($"{modelPath}: {facts.Method} model (Microsoft.ML.UFlow {facts.LibraryVersion}), anomalous above score " +
                      $"{facts.Threshold:F4}; {images.Length} images in {imageFolder}");

    // U-Flow with the NFA step also gives a segmentation; CS-Flow (or U-Flow without it) gives the score and the map.
    bool segments = model.GetOutputSchema(inputSchema).GetColumnOrNull(AnomalyColumns.SegmentationMask) is not null;
    int anomalous = 0;
    if (segments)
    {
        using var engine = ml.Model.CreatePredictionEngine<ImageInput, UFlowPrediction>(model);
        foreach (string image in images)
        {
            UFlowPrediction p = engine.Predict(new ImageInput { ImagePath = image });
            anomalous += Inspection.Report(image, p.Score, p.PredictedLabel, p.AnomalyMap, p.SegmentationMask, facts.MapHeight, facts.MapWidth, overlayFolder);
        }
    }
    else
    {
        using var engine = ml.Model.CreatePredictionEngine<ImageInput, ImageScore>(model);
        foreach (string image in images)
        {
            ImageScore p = engine.Predict(new ImageInput { ImagePath = image });
            anomalous += Inspection.Report(image, p.Score, p.PredictedLabel, p.AnomalyMap, null, facts.MapHeight, facts.MapWidth, overlayFolder);
        }
    }
    Console.WriteLine($"{anomalous} of {images.Length} images anomalous; overlays in {overlayFolder}");
    return 0;
}
catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
