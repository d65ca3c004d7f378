using System.Globalization;
using BottleAnomalyDetection;
using Microsoft.ML.UFlow.Api;

// Usage: dotnet run --project examples/BottleAnomalyDetection -c Release -- [SHARED_DIR] [EPOCHS]
// SHARED_DIR defaults to ../shared beside the repository (data/mvtec_ad/bottle and models/mobilenetv2_1.0_imagenet_features.onnx).
string repo = FindRepositoryRoot();
string shared = args.Length > 0 ? args[0] : Path.GetFullPath(Path.Combine(repo, "..", "shared"));
int epochs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
string bottle = Path.Combine(shared, "data", "mvtec_ad", "bottle");
string backbone = Path.Combine(shared, "models", "mobilenetv2_1.0_imagenet_features.onnx");
if (!Directory.Exists(bottle) || !File.Exists(backbone))
{
    Console.Error.WriteLine($"Needs {bottle} and {backbone}; pass the shared folder as the first argument.");
    return 2;
}

var ctx = new UFlowContext(seed: 0);
string modelPath = Path.Combine(repo, "out", "example", "bottle_uflow.zip");

Console.WriteLine($"Training U-Flow (MobileNetV2 features, {epochs} epochs) on {bottle} ...");
var model = BottleModel.Train(ctx, bottle, backbone, modelPath, epochs);
Console.WriteLine($"Saved {modelPath}");

var (image, pixels, byType) = BottleModel.Evaluate(ctx, model, bottle);
Console.WriteLine($"image AUROC {image.AreaUnderRocCurve:F4}, pixel AUROC {pixels.PixelAuroc:F4}, AUPRO {pixels.Aupro:F4}, " +
                  $"mIoU at log NFA < 0 {pixels.MeanIouAtNfa:F4}, pixel F1-max {pixels.F1MaxPixel:F4}, false-alarm images {pixels.FalseAlarmImages}/{image.ImageCount - image.AnomalousImageCount} normal");
foreach (var t in byType.Where(t => t.IsAnomalous))
{
    Console.WriteLine($"  {t.DefectType}: {t.ImageCount} images, image AUROC {t.ImageAuroc:F4}, flagged {t.FlaggedImageCount}, " +
                      $"segmented {t.Segmentation!.ImagesWithDetection}, mIoU {t.Segmentation.MeanIou:F4}");
}

string sample = Path.Combine(bottle, "test", "broken_large", "000.png");
var output = BottleModel.Predict(ctx, modelPath, new ModelInput { ImagePath = sample });
Console.WriteLine($"{sample}: score {output.Score:F4}, anomalous {output.IsAnomalous} ({output.AnomalousPixels} pixels), max -log10 NFA {output.MaxNegativeLog10Nfa:F1}");
return 0;

static string FindRepositoryRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        if (File.Exists(Path.Combine(d.FullName, "Microsoft.ML.UFlow.sln"))) return d.FullName;
    }
    return Directory.GetCurrentDirectory();
}
