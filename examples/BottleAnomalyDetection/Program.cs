using Microsoft.ML;
using Microsoft.ML.UFlow;

// The README program: train U-Flow on MVTec AD bottle, save an ordinary ML.NET model, load it as any ML.NET program would,
// evaluate it (image, pixels, per defect type) and predict one image.
// It references the Microsoft.ML.UFlow package and TorchSharp-cpu; run `dotnet pack Microsoft.ML.UFlow.sln -c Release`
// in the repository first (examples/NuGet.config takes the package from artifacts/).
// Usage: dotnet run --project examples/BottleAnomalyDetection -c Release -- [BOTTLE_FOLDER] [MOBILENETV2_ONNX] [EPOCHS] [MODEL_ZIP]
// Defaults: data/mvtec_ad/bottle and models/mobilenetv2_1.0_imagenet_features.onnx of ../shared beside the repository,
// 30 epochs, bottle.zip in the current folder (examples/InspectionService scores a folder of images with it).
string bottle = args.Length > 0 ? args[0] : Shared("data", "mvtec_ad", "bottle");
string mobilenetv2 = args.Length > 1 ? args[1] : Shared("models", "mobilenetv2_1.0_imagenet_features.onnx");
int epochs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 30;
string modelPath = args.Length > 3 ? args[3] : "bottle.zip";

var ml = new MLContext(seed: 0);
IDataView train = ml.Data.LoadAnomalyImages(bottle, AnomalyImageSplit.Train); // ImagePath, Label (Single, 1 = anomalous), MaskPath, DefectType
IDataView test  = ml.Data.LoadAnomalyImages(bottle, AnomalyImageSplit.Test);
var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
    .Append(ml.Transforms.ResizeImages("Image", 256, 256))
    .Append(ml.Transforms.ApplyOnnxFeaturizer("Features", "Image", mobilenetv2, ["stride4", "stride8", "stride16"]))
    .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = epochs }))
    .Append(ml.Transforms.SegmentWithNfa());
ITransformer model = pipeline.Fit(train);
ml.Model.Save(model, train.Schema, modelPath);

// any ML.NET program, in another process:
ITransformer loaded = new MLContext().Model.Load(modelPath, out _);
var facts = UFlowModelInfo.Read(loaded);                       // method, scales, map size, threshold, library version
Console.WriteLine($"{modelPath}: {facts.Method}, map {facts.MapWidth}x{facts.MapHeight}, threshold {facts.Threshold:F4}, " +
                  $"written by Microsoft.ML.UFlow {facts.LibraryVersion}");
IDataView scored = loaded.Transform(test);                     // Score, PredictedLabel, AnomalyMap, LogNfa, SegmentationMask
var m = ml.AnomalyDetection.Evaluate(scored);                  // ML.NET's own evaluator: image AUROC (AnomalyDetectionMetrics, in Microsoft.ML.Data)
SegmentationMetrics s = ml.AnomalyDetection.EvaluateSegmentation(scored);    // pixel AUROC, AUPRO, mIoU at log NFA < 0, F1-max

Console.WriteLine($"image AUROC {m.AreaUnderRocCurve:F4}, pixel AUROC {s.PixelAuroc:F4}, AUPRO {s.Aupro:F4}, mIoU at log NFA < 0 {s.MeanIouAtNfa:F4}, " +
                  $"pixel F1-max {s.F1MaxPixel:F4}, normal images with a detection {s.FalseAlarmImages}");
foreach (var t in ml.AnomalyDetection.EvaluateByDefectType(scored))
{
    string segmentation = t.Segmentation is { } g ? $", segmented {g.ImagesWithDetection}, mIoU {g.MeanIou:F4}" : "";
    Console.WriteLine($"  {t.DefectType}: {t.ImageCount} images, image AUROC {t.ImageAuroc:F4}, flagged {t.FlaggedImageCount}{segmentation}");
}

// One image at a time, on the loaded model.
var engine = ml.Model.CreatePredictionEngine<ImageInput, UFlowPrediction>(loaded);
string sample = Path.Combine(bottle, "test", "broken_large", "000.png");
UFlowPrediction p = engine.Predict(new ImageInput { ImagePath = sample });
Console.WriteLine($"{sample}: score {p.Score:F4}, above the threshold {p.PredictedLabel}, segmented {p.HasDetection} " +
                  $"({p.SegmentationMask.Count(x => x)} pixels), max -log10 NFA {p.LogNfa.Max():F1}");
return 0;

static string Shared(params string[] parts)
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "Microsoft.ML.UFlow.sln"))) return Path.Combine([d.FullName, "..", "shared", .. parts]);
    }
    return Path.Combine(parts);
}
