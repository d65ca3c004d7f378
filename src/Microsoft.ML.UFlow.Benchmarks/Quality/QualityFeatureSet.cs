using System.Diagnostics;
using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Imaging;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks.Quality;

/// <summary>
/// The backbone features of one split of a data set, one N×C×H×W tensor per scale (finest first), plus for test splits
/// the labels and the 256×256 binarised ground-truth masks. Features are computed once (PIL-compatible bilinear resize to
/// the input size, ImageNet normalisation, ONNX backbone) and optionally cached on disk so that reruns skip the backbone.
/// </summary>
internal sealed class QualityFeatureSet
{
    private QualityFeatureSet(Tensor[] scales, DatasetItem[] items, float[][]? masks, double seconds, bool fromCache)
    {
        Scales = scales;
        Items = items;
        Masks = masks;
        FeaturizeSeconds = seconds;
        FromCache = fromCache;
    }

    /// <summary>One tensor per scale, N×C×H×W.</summary>
    public Tensor[] Scales { get; }

    /// <summary>The images, in the order of the feature tensors.</summary>
    public DatasetItem[] Items { get; }

    /// <summary>Binarised ground-truth masks at the evaluation size (test split only; all-zero for normal images).</summary>
    public float[][]? Masks { get; }

    /// <summary>Wall time of decoding, resizing and featurising (0 when read from the cache).</summary>
    public double FeaturizeSeconds { get; }

    /// <summary>Whether the features came from the disk cache.</summary>
    public bool FromCache { get; }

    /// <summary>Number of images.</summary>
    public int Count => Items.Length;

    public static QualityFeatureSet Build(IReadOnlyList<DatasetItem> items, OnnxFeaturizer featurizer, int inputSize, int evaluationSize, bool withMasks, string? cacheFile, Action<int, int> progress)
    {
        if (items.Count == 0) throw new ArgumentException("The split has no images.", nameof(items));
        var clock = Stopwatch.StartNew();
        float[][]? masks = withMasks ? items.Select(i => LoadMask(i, inputSize, evaluationSize)).ToArray() : null;
        IReadOnlyList<FeatureMapInfo> infos = featurizer.Describe(inputSize, inputSize);
        if (cacheFile is not null)
        {
            Tensor[]? cached = FeatureTensorFile.TryRead(cacheFile, items.Count, infos.Select(i => ((int, int, int)?)(i.Channels, i.Height, i.Width)).ToArray(), out string? reason);
            if (cached is not null) return new QualityFeatureSet(cached, items.ToArray(), masks, 0, true);
            if (reason is not null) Console.WriteLine($"  feature cache {cacheFile} ignored ({reason}); recomputing");
        }
        Tensor[] scales = infos.Select(i => new Tensor(items.Count, i.Channels, i.Height, i.Width)).ToArray();
        const int batch = 4;
        var input = new Tensor(1);
        for (int start = 0; start < items.Count; start += batch)
        {
            int b = Math.Min(batch, items.Count - start);
            input.EnsureShape(b, 3, inputSize, inputSize);
            for (int i = 0; i < b; i++) ImageNormalization.ToTensor(LoadImage(items[start + i].ImagePath, inputSize), input, i);
            IReadOnlyList<Tensor> maps = featurizer.Extract(input);
            for (int l = 0; l < scales.Length; l++)
            {
                for (int i = 0; i < b; i++) maps[l].Sample(i).CopyTo(scales[l].Sample(start + i));
            }
            progress(start + b, items.Count);
        }
        if (cacheFile is not null) FeatureTensorFile.Write(cacheFile, scales);
        return new QualityFeatureSet(scales, items.ToArray(), masks, clock.Elapsed.TotalSeconds, false);
    }

    /// <summary>Decode, RGB (grey replicated), PIL-compatible bilinear resize to size×size.</summary>
    private static Image LoadImage(string path, int size)
    {
        Image image = ImageDecoder.Decode(path);
        if (image.Channels != 3) image = image.ToRgb();
        return image.Width == size && image.Height == size ? image : ImageResize.Bilinear(image, size, size);
    }

    /// <summary>METHOD.md Part B: mask resized like the image (PIL bilinear), then bilinear to the evaluation size, then &gt; 0.5.</summary>
    private static float[] LoadMask(DatasetItem item, int inputSize, int evaluationSize)
    {
        var mask = new float[evaluationSize * evaluationSize];
        if (item.MaskPath is null) return mask;
        GroundTruthMask.Prepare(ImageDecoder.Decode(item.MaskPath), inputSize, evaluationSize, mask);
        return mask;
    }
}
