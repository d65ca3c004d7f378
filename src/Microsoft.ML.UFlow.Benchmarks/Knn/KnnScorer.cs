using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using TorchSharp;

namespace Microsoft.ML.UFlow.Benchmarks.Knn;

/// <summary>
/// A nearest-neighbour anomaly scorer on a backbone's multi-scale features (PatchCore's idea without its coreset): each
/// scale's memory bank holds a seeded random share of the normal training images' position vectors (after the optional
/// k×k average pooling); a test position scores its Euclidean distance to the nearest bank vector of its scale; each
/// scale's distance map is upsampled bilinearly (align_corners = false, as U-Flow's maps) to the map grid, the scales
/// are averaged with equal weights, and the map is optionally Gaussian-smoothed. The image score is the map's maximum.
/// </summary>
internal sealed class KnnScorer : IDisposable
{
    private readonly MemoryBank[] _banks;
    private readonly KnnScorerOptions _options;
    private readonly (int Channels, int Height, int Width)[] _shapes;
    private readonly float[] _resized;

    private KnnScorer(MemoryBank[] banks, (int, int, int)[] shapes, KnnScorerOptions options)
    {
        _banks = banks;
        _shapes = shapes;
        _options = options;
        Grid = MapGrid.For(options.OutputSize, shapes.Select(s => (s.Item2, s.Item3)));
        _resized = new float[Grid.Height * Grid.Width];
    }

    /// <summary>The map grid (height, width).</summary>
    public (int Height, int Width) Grid { get; }

    /// <summary>The vectors in each scale's bank, finest first.</summary>
    public IReadOnlyList<int> BankSizes => _banks.Select(b => b.Count).ToArray();

    /// <summary>The (C, H, W) of each scale, finest first.</summary>
    public IReadOnlyList<(int Channels, int Height, int Width)> Shapes => _shapes;

    /// <summary>
    /// Builds the banks from the normal training images' features (each image's scales, finest first), reading them once:
    /// of each image's H·W positions per scale, max(1, round(fraction·H·W)) chosen at random are kept.
    /// </summary>
    /// <exception cref="ArgumentException">No images, or images whose scales differ in number or shape.</exception>
    public static KnnScorer Build(IEnumerable<LatentLayout.Scale[]> trainingImages, KnnScorerOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainingImages);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var random = new SeededRandom((ulong)(uint)options.Seed);
        (int Channels, int Height, int Width)[]? shapes = null;
        List<float[]>[] kept = [];
        int images = 0;
        foreach (LatentLayout.Scale[] image in trainingImages)
        {
            if (shapes is null)
            {
                shapes = image.Select(s => (s.Channels, s.Height, s.Width)).ToArray();
                kept = shapes.Select(_ => new List<float[]>()).ToArray();
            }
            CheckShapes(image, shapes, $"training image #{images}");
            for (int l = 0; l < image.Length; l++)
            {
                var (c, h, w) = shapes[l];
                int positions = h * w;
                int count = Math.Max(1, (int)Math.Round(options.BankFraction * positions));
                int[] chosen = random.Permutation(positions)[..count];
                Array.Sort(chosen); // the order of the bank does not matter; sorted rows read memory in order
                using var scope = torch.NewDisposeScope();
                using var index = torch.tensor(chosen.Select(i => (long)i).ToArray());
                kept[l].Add(PatchFeatures.Vectors(image[l].Values, c, h, w, options.Pool).index_select(0, index).data<float>().ToArray());
            }
            images++;
        }
        if (shapes is null) throw new ArgumentException("There are no normal training images to build the memory bank from.", nameof(trainingImages));
        var banks = new MemoryBank[shapes.Length];
        try
        {
            for (int l = 0; l < shapes.Length; l++)
            {
                int channels = shapes[l].Channels;
                float[] all = new float[kept[l].Sum(k => (long)k.Length)];
                int offset = 0;
                foreach (float[] part in kept[l])
                {
                    part.CopyTo(all, offset);
                    offset += part.Length;
                }
                kept[l].Clear(); // the managed copies go before the next scale's bank is made
                banks[l] = new MemoryBank(all, all.Length / channels, channels, options.Chunk);
            }
        }
        catch
        {
            foreach (MemoryBank? b in banks) b?.Dispose();
            throw;
        }
        return new KnnScorer(banks, shapes, options);
    }

    /// <summary>
    /// The anomaly map of one image (its scales, finest first) on <see cref="Grid"/>, row-major; with the per-scale
    /// distance maps (H×W each, before upsampling) when <paramref name="perScale"/> is given.
    /// </summary>
    /// <exception cref="ArgumentException">The image's scales differ from the training images'.</exception>
    public float[] Score(LatentLayout.Scale[] image, List<float[]>? perScale = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckShapes(image, _shapes, "the test image");
        var map = new float[Grid.Height * Grid.Width];
        for (int l = 0; l < image.Length; l++)
        {
            var (c, h, w) = _shapes[l];
            float[] distances;
            using (var scope = torch.NewDisposeScope())
            {
                distances = _banks[l].NearestDistances(PatchFeatures.Vectors(image[l].Values, c, h, w, _options.Pool));
            }
            perScale?.Add(distances);
            BilinearResize.Forward(distances, h, w, _resized, Grid.Height, Grid.Width);
            TensorPrimitives.Add(map, _resized, map);
        }
        TensorPrimitives.Multiply(map, 1f / image.Length, map);
        GaussianSmoothing.Apply(map, Grid.Height, Grid.Width, _options.Sigma);
        return map;
    }

    /// <summary>One scale's distance map (from <see cref="Score"/>'s <c>perScale</c>) alone, upsampled and smoothed as the average is.</summary>
    public float[] ScaleMap(int scale, float[] distances)
    {
        var (_, h, w) = _shapes[scale];
        var map = new float[Grid.Height * Grid.Width];
        BilinearResize.Forward(distances, h, w, map, Grid.Height, Grid.Width);
        GaussianSmoothing.Apply(map, Grid.Height, Grid.Width, _options.Sigma);
        return map;
    }

    private static void CheckShapes(LatentLayout.Scale[] image, (int Channels, int Height, int Width)[] shapes, string what)
    {
        bool same = image.Length == shapes.Length;
        for (int l = 0; same && l < image.Length; l++) same = (image[l].Channels, image[l].Height, image[l].Width) == shapes[l];
        if (!same)
        {
            throw new ArgumentException($"The features of {what} have the scales [{string.Join(", ", image.Select(s => $"{s.Channels}x{s.Height}x{s.Width}"))}], " +
                                        $"but the memory bank's are [{string.Join(", ", shapes.Select(s => $"{s.Channels}x{s.Height}x{s.Width}"))}].");
        }
    }

    /// <summary>Frees the banks.</summary>
    public void Dispose()
    {
        foreach (MemoryBank bank in _banks) bank.Dispose();
    }
}
