using System.CommandLine;
using System.Globalization;
using Microsoft.ML.UFlow.Api;
using Microsoft.ML.UFlow.Api.AnomalyDetection;
using Microsoft.ML.UFlow.Cli.Report;
using Microsoft.ML.UFlow.Tensors;
using Spectre.Console;

namespace Microsoft.ML.UFlow.Cli.Commands;

/// <summary><c>uflow predict</c>: runs a saved model on image files; prints score and max −log10 NFA; writes mask and overlay PNGs.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The model .zip written by 'uflow train'.", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for <name>_mask.png and <name>_overlay.png.", DefaultValueFactory = _ => new DirectoryInfo("predictions") };
        var images = new Argument<FileInfo[]>("IMAGE") { Description = "Image files (PNG, JPEG, BMP).", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("predict", "Score images with a saved model: anomaly score, -log10 NFA, segmentation mask and overlay per image.");
        cmd.Options.Add(model);
        cmd.Options.Add(output);
        cmd.Arguments.Add(images);
        cmd.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(model)!, parse.GetValue(images)!, parse.GetValue(output)!)));
        return cmd;
    }

    private static int Run(FileInfo modelFile, FileInfo[] images, DirectoryInfo output)
    {
        var ctx = new UFlowContext();
        var model = ctx.Model.Load(modelFile.FullName, out var inputSchema);
        var engine = ctx.Model.CreatePredictionEngine(model, inputSchema);
        output.Create();
        var table = new Table().AddColumn("image").AddColumn(new TableColumn("score").RightAligned()).AddColumn(new TableColumn("max -log10 NFA").RightAligned())
            .AddColumn(new TableColumn("anomalous pixels").RightAligned()).AddColumn("verdict").AddColumn("mask / overlay");
        foreach (var image in images)
        {
            if (!image.Exists) throw new FileNotFoundException($"Image '{image.FullName}' does not exist.", image.FullName);
            var row = engine.PredictImage(image.FullName);
            float score = row.Get<float>(UFlowColumns.Score);
            var logNfa = row.Get<Tensor>(UFlowColumns.LogNfa);
            var mask = row.Get<Tensor>(UFlowColumns.SegmentationMask);
            float maxLogNfa = TensorPrimitives.Max(logNfa.Span);
            int pixels = (int)TensorPrimitives.Sum(mask.Span);
            string stem = Path.GetFileNameWithoutExtension(image.Name);
            var (maskPng, overlayPng) = ReportImages.WritePrediction(output.FullName, stem, row);
            table.AddRow(Markup.Escape(image.Name), score.ToString("0.0000", CultureInfo.InvariantCulture), maxLogNfa.ToString("0.00", CultureInfo.InvariantCulture),
                pixels.ToString(CultureInfo.InvariantCulture), pixels > 0 ? "[red]anomalous[/]" : "[green]normal[/]",
                Markup.Escape($"{Path.GetFileName(maskPng)} / {Path.GetFileName(overlayPng)}"));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"PNGs written to [green]{Markup.Escape(output.FullName)}[/]");
        return 0;
    }
}
