using System.Diagnostics;
using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Benchmarks;

/// <summary>Timings of the image pre-processing pipeline (decode → PIL-bilinear resize → ImageNet normalisation).</summary>
/// <param name="Images">Images processed per timed pass.</param>
/// <param name="Size">Target side of the square resize.</param>
/// <param name="DecodeMs">Mean decode time per image, single thread (ms).</param>
/// <param name="ResizeMs">Mean resize time per image, single thread (ms).</param>
/// <param name="NormalizeMs">Mean normalisation time per image, single thread (ms).</param>
/// <param name="ImagesPerSecond">Whole pipeline, single thread.</param>
/// <param name="Threads">Worker threads of the parallel run.</param>
/// <param name="ParallelImagesPerSecond">Whole pipeline with one image per worker at a time.</param>
internal sealed record ImagePipelineResult(int Images, int Size, double DecodeMs, double ResizeMs, double NormalizeMs,
    double ImagesPerSecond, int Threads, double ParallelImagesPerSecond);

/// <summary>
/// Measures decode + resize(size × size) + normalise images/s over a set of files. The files are read into memory
/// first so that the numbers are CPU time, not disk time; an untimed warm-up pass (at least 60 images) precedes the
/// timed passes.
/// </summary>
internal static class ImagePipelineBenchmark
{
    public static ImagePipelineResult Run(IReadOnlyList<string> files, int size = 256, int passes = 3, int? threads = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) throw new ArgumentException("No image files to benchmark.", nameof(files));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(passes);
        var bytes = files.Select(File.ReadAllBytes).ToArray();
        float[] chw = new float[3 * size * size];

        // Untimed warm-up: at least 60 images, so that tiered JIT compilation has promoted the hot loops.
        for (int i = 0; i < Math.Max(60, bytes.Length); i++) Process(bytes[i % bytes.Length], size, chw);

        long decode = 0, resize = 0, normalize = 0;
        var sw = new Stopwatch();
        for (int p = 0; p < passes; p++)
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                sw.Restart();
                Image image = ImageDecoder.Decode(bytes[i], files[i]);
                long t1 = sw.ElapsedTicks;
                Image small = ImageResize.Bilinear(image, size, size);
                long t2 = sw.ElapsedTicks;
                ImageNormalization.ToChw(small, chw);
                long t3 = sw.ElapsedTicks;
                decode += t1; resize += t2 - t1; normalize += t3 - t2;
            }
        }
        double n = (double)bytes.Length * passes;
        double toMs = 1000.0 / Stopwatch.Frequency;
        double total = (decode + resize + normalize) * toMs;

        int workers = threads ?? Environment.ProcessorCount;
        var wall = Stopwatch.StartNew();
        for (int p = 0; p < passes; p++)
        {
            Parallel.For(0, bytes.Length, new ParallelOptions { MaxDegreeOfParallelism = workers },
                () => new float[3 * size * size], (i, _, buffer) => { Process(bytes[i], size, buffer); return buffer; }, _ => { });
        }
        double parallelSeconds = wall.Elapsed.TotalSeconds;

        return new ImagePipelineResult(bytes.Length, size, decode * toMs / n, resize * toMs / n, normalize * toMs / n,
            n / (total / 1000.0), workers, n / parallelSeconds);
    }

    private static void Process(byte[] data, int size, float[] chw)
    {
        Image image = ImageDecoder.Decode(data, "benchmark");
        ImageNormalization.ToChw(ImageResize.Bilinear(image, size, size), chw);
    }
}
