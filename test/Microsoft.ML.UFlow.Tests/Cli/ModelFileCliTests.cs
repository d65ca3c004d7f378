using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Cli;
using Microsoft.ML.UFlow.Tests.Infrastructure;
using Microsoft.ML.UFlow.Data;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// The model files of <c>uflow</c>: what <c>uflow train</c> saves is an ordinary ML.NET model that any program loads and
/// inspects; a version-1 model, a cut file or a missing one gives one clear error line and exit code 1; a file that is not
/// an image is named; the save is atomic.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ModelFileCliTests
{
    [SharedDataFact]
    public void A_trained_model_loads_with_plain_MLNET_and_carries_the_threshold_the_CLI_printed()
    {
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "bottle.zip");
        var (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--epochs", "1", "--batch", "4", "--held-out", "0", "--out", model);
        Assert.True(code == 0, output);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(model)!, "*.tmp"));
        string printed = Regex.Match(output, @"score threshold (\S+)").Groups[1].Value;

        // Any ML.NET program: a fresh context, the stock loader, the ImagePath input column.
        var ml = new MLContext();
        ITransformer loaded = ml.Model.Load(model, out DataViewSchema inputSchema);
        try
        {
            Assert.Equal(TextDataViewType.Instance, inputSchema[AnomalyColumns.ImagePath].Type);
            var facts = UFlowModelInfo.Read(loaded);
            Assert.Equal("uflow", facts.Method);
            Assert.Equal(printed, facts.Threshold!.Value.ToString("0.######", CultureInfo.InvariantCulture));
            Assert.Equal(facts.Threshold, UFlowModelInfo.Read(model).Threshold);
            Assert.Equal("4", facts.Properties["uflow.training.images"]);
            Assert.Equal("1", facts.Properties["uflow.training.epochs"]);

            // The threshold is the highest training score, and the loaded model gives the training process's scores
            // (ONNX Runtime over one row against the trainer's batches of 8: float rounding only).
            var train = ml.Data.LoadAnomalyImages(data.Dataset, AnomalyImageSplit.Train);
            float highest = loaded.Transform(train).GetColumn<float>(AnomalyColumns.Score).Max();
            Assert.Equal(facts.Threshold.Value, highest, 1e-5f * Math.Abs(highest));

            // A user's prediction engine over the CLI's model, one image path in.
            using var engine = ml.Model.CreatePredictionEngine<ImageInput, UFlowPrediction>(loaded);
            var prediction = engine.Predict(new ImageInput { ImagePath = data.TestImages.First() });
            Assert.Equal(facts.MapSize * facts.MapSize, prediction.SegmentationMask.Length);
        }
        finally
        {
            TransformerDisposal.Dispose(loaded);
        }

        // A file that is not an image, in eval's test set and given to predict: the error names it.
        string corrupt = Path.Combine(data.Dataset, "test", "good", "zz_corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset);
        Assert.Equal(1, code);
        Assert.Contains($"error: The image '{corrupt}' could not be read", output);
        (code, output) = CliRunner.Run("predict", "--model", model, "--out", Path.Combine(data.Root, "pred"), data.TestImages.First(), corrupt);
        Assert.Equal(1, code);
        Assert.Contains($"error: The image '{corrupt}' could not be read", output);
    }

    [Fact]
    public void A_version_1_model_file_gives_one_line_naming_the_version_and_saying_to_retrain()
    {
        string dir = Path.Combine(Path.GetTempPath(), "uflow-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // Version 1 wrote its own zip: a model.json manifest and its components under model/, no ML.NET Schema entry.
            string v1 = Path.Combine(dir, "v1.zip");
            using (var zip = ZipFile.Open(v1, ZipArchiveMode.Create))
            {
                using (var writer = new StreamWriter(zip.CreateEntry("model.json").Open()))
                {
                    writer.Write("{\"format\":\"Microsoft.ML.UFlow model\",\"version\":1,\"inputSchema\":[{\"name\":\"ImagePath\",\"type\":\"String\"}]," +
                        "\"note\":\"Written by Microsoft.ML.UFlow (ML.NET-shaped API; not loadable by ML.NET).\"}");
                }
                zip.CreateEntry("model/0/header.json");
            }
            foreach (string[] args in new[]
            {
                new[] { "eval", "--model", v1, "--data", dir },
                ["predict", "--model", v1, "--out", Path.Combine(dir, "pred"), Path.Combine(dir, "x.png")],
            })
            {
                var (code, output) = CliRunner.Run(args);
                Assert.Equal(1, code);
                string line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                Assert.StartsWith("error: ", line);
                Assert.Contains("version-1", line);
                Assert.Contains("Retrain", line);
                Assert.Contains(v1, line);
            }

            // A zip cut in half and a missing file: one line each, naming the file.
            string cut = Path.Combine(dir, "cut.zip");
            byte[] whole = File.ReadAllBytes(v1);
            File.WriteAllBytes(cut, whole[..(whole.Length / 2)]);
            var (cutCode, cutOutput) = CliRunner.Run("eval", "--model", cut, "--data", dir);
            Assert.Equal(1, cutCode);
            Assert.Contains($"error: '{cut}' is not a complete zip file", cutOutput);
            string missing = Path.Combine(dir, "none.zip");
            var (missingCode, missingOutput) = CliRunner.Run("predict", "--model", missing, Path.Combine(dir, "x.png"));
            Assert.Equal(1, missingCode);
            Assert.Contains($"error: Model file '{missing}' does not exist", missingOutput);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_interrupted_write_leaves_the_old_file_and_no_temporary_file()
    {
        string dir = Path.Combine(Path.GetTempPath(), "uflow-cli-" + Guid.NewGuid().ToString("N"));
        string path = Path.Combine(dir, "model.zip");
        try
        {
            AtomicFile.WriteAllText(path, "old");
            Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
            {
                stream.Write([1, 2, 3]);
                throw new IOException("disk full");
            }));
            Assert.Equal("old", File.ReadAllText(path));
            Assert.Equal([path], Directory.GetFiles(dir));
            AtomicFile.WriteAllText(path, "new");
            Assert.Equal("new", File.ReadAllText(path));
            Assert.Equal([path], Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
