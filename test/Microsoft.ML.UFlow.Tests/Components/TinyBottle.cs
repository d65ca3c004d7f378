using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Components;

/// <summary>A few real MVTec AD bottle images copied into a temporary MVTec-layout folder (fast end-to-end runs).</summary>
internal sealed class TinyBottle : IDisposable
{
    public TinyBottle(int train = 3, int testPerType = 1)
    {
        string source = Path.Combine(SharedData.Root!, "data", "mvtec_ad", "bottle");
        Folder = Path.Combine(Path.GetTempPath(), "uflow-tiny-bottle-" + Guid.NewGuid().ToString("N"));
        Copy(Path.Combine(source, "train", "good"), Path.Combine(Folder, "train", "good"), train);
        foreach (string type in new[] { "good", "broken_large" })
        {
            var names = Copy(Path.Combine(source, "test", type), Path.Combine(Folder, "test", type), testPerType);
            if (type == "good") continue;
            foreach (string name in names)
            {
                string mask = Path.GetFileNameWithoutExtension(name) + "_mask.png";
                Directory.CreateDirectory(Path.Combine(Folder, "ground_truth", type));
                File.Copy(Path.Combine(source, "ground_truth", type, mask), Path.Combine(Folder, "ground_truth", type, mask));
            }
        }
    }

    public string Folder { get; }

    public static string MobileNetV2 => SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;

    private static List<string> Copy(string from, string to, int count)
    {
        Directory.CreateDirectory(to);
        var names = Directory.GetFiles(from, "*.png").Order(StringComparer.Ordinal).Take(count).Select(p => Path.GetFileName(p)).ToList();
        foreach (string name in names) File.Copy(Path.Combine(from, name), Path.Combine(to, name));
        return names;
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
