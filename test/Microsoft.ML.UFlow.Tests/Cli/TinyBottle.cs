using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>A tiny MVTec AD category (4 train by default, 2 good + 2 broken_large test images, with masks) copied from ../shared's bottle.</summary>
internal sealed class TinyBottle : IDisposable
{
    private TinyBottle(string root) => Root = root;

    public string Root { get; }

    public string Dataset => Path.Combine(Root, "bottle");

    public int TestCount => 4;

    public IEnumerable<string> TestImages => Directory.GetFiles(Path.Combine(Dataset, "test"), "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    public static TinyBottle Create(int train = 4)
    {
        string source = SharedData.Bottle!;
        var tiny = new TinyBottle(Path.Combine(Path.GetTempPath(), "uflow-cli-" + Guid.NewGuid().ToString("N")));
        void Copy(string relative)
        {
            string target = Path.Combine(tiny.Dataset, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(source, relative), target);
        }
        for (int i = 0; i < train; i++) Copy($"train/good/{i:D3}.png");
        for (int i = 0; i < 2; i++)
        {
            Copy($"test/good/{i:D3}.png");
            Copy($"test/broken_large/{i:D3}.png");
            Copy($"ground_truth/broken_large/{i:D3}_mask.png");
        }
        return tiny;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
