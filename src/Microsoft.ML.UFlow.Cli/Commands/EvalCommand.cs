using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.UFlow.Cli.Report;
using Spectre.Console;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Onnx;

namespace Microsoft.ML.UFlow.Cli.Commands;

// ML.NET has a namespace Microsoft.ML.Command, which hides System.CommandLine's Command inside namespace Microsoft.ML.*.
using Command = System.CommandLine.Command;

/// <summary>
/// <c>uflow eval</c>: scores a test set with a saved model and prints/writes its metrics, optionally with a visual report.
/// The metrics follow what the model produces (found from its flow graph's facts and its schema): image AUROC always
/// (ML.NET's evaluator), pixel metrics from the anomaly map, and mIoU / false alarms of the NFA segmentation only for
/// models that have it (U-Flow, not CS-Flow). The model runs once over the test set: its outputs are cached
/// (<c>MLContext.Data.Cache</c>) and the evaluators and the report read the cache.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The model .zip written by 'uflow train' (U-Flow or CS-Flow).", Required = true };
        var data = new Option<DirectoryInfo>("--data") { Description = "Test data: an MVTec AD category folder, a plain folder, or the MTD folder.", Required = true };
        var json = new Option<FileInfo?>("--json") { Description = "Write the metrics to this JSON file." };
        var report = new Option<DirectoryInfo?>("--report") { Description = "Write an HTML report (index.html + PNGs) into this folder." };
        var cmd = new Command("eval", "Evaluate a saved model: image AUROC, pixel AUROC, AUPRO, pixel F1-max, and for U-Flow mIoU at log NFA < 0 and false alarms.");
        foreach (var o in new Option[] { model, data, json, report }) cmd.Options.Add(o);
        cmd.SetAction(parse => CliErrors.Run(() => Run(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(json), parse.GetValue(report))));
        return cmd;
    }

    private static int Run(FileInfo modelFile, DirectoryInfo data, FileInfo? json, DirectoryInfo? reportDir)
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext();
        ml.DisableOnnxRuntimeSpinning(); // row-at-a-time scoring: spin-waiting threads cost CPU, not wall time
        ITransformer model = UFlowModelFile.Load(ml, modelFile.FullName, out var inputSchema);
        try
        {
            return Evaluate(ml, model, ModelCapabilities.Of(model, inputSchema, modelFile.FullName), modelFile, data, json, reportDir, clock);
        }
        finally
        {
            TransformerDisposal.Dispose(model);
        }
    }

    // The held-out normals' facts of a U-Flow model and how far it is from calibrated (models trained without held-out
    // images say so; CS-Flow has no NFA).
    private static void PrintCalibration(FlowModelFacts facts, ModelCapabilities caps)
    {
        if (!caps.HasNfa) return;
        if (facts.HeldOut is not { } held)
        {
            AnsiConsole.MarkupLine("held-out normals: none (trained on every image), NFA calibration none");
            return;
        }
        string calibration = facts.Calibration == LatentCalibration.HeldOutScale
            ? $"held-out (statistic divided by {CalibrationReport.List(facts.CalibrationDivisors!)})"
            : "none";
        AnsiConsole.MarkupLine(Markup.Escape($"held-out normals ({held.Images} {(caps.Tiling is null ? "images" : "tiles")}): loss {CalibrationReport.Number(held.Loss)}, mean z² per scale {CalibrationReport.List(held.MeanSquarePerScale)}; NFA calibration {calibration}"));
        foreach (string warning in CalibrationReport.Warnings(held, facts.Calibration, facts.CalibrationDivisors)) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(warning)}[/]");
    }

    private static int Evaluate(MLContext ml, ITransformer model, ModelCapabilities caps, FileInfo modelFile, DirectoryInfo data, FileInfo? json, DirectoryInfo? reportDir, Stopwatch clock)
    {
        IDataView test = ml.Data.LoadAnomalyImages(data.FullName, AnomalyImageSplit.Test);
        int total = (int)(test.GetRowCount() ?? 0);
        AnsiConsole.MarkupLine($"[bold]uflow eval[/]: {total} test images from {Markup.Escape(data.FullName)} with {Markup.Escape(modelFile.Name)} ({caps.DisplayName})");
        PrintCalibration(UFlowModelInfo.Read(modelFile.FullName), caps);
        // Tiles are cut at full resolution, never stretched: the aspect warning is for models of whole images.
        if (caps.Tiling is null && AspectWarning.For(test.GetColumn<string>(AnomalyColumns.ImagePath).ToList(), caps.InputWidth, caps.InputHeight) is string warning) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(warning)}[/]");

        IDataView scored;
        int tilesPerImage = 0;
        if (caps.Tiling is { } tiling)
        {
            // A tiled model scores tiles: each image is scored whole (tiles stitched at full resolution) and evaluated on its own grid.
            AnsiConsole.MarkupLine($"tiled model: {tiling.TileSize}x{tiling.TileSize} tiles, overlap {tiling.Overlap}; maps stitched at the images' full resolution");
            (scored, caps, tilesPerImage) = ConsoleProgress.Run(bars => TiledEvaluation.Score(ml, model, caps, test, (done, all) => bars.Report("score tiles", done, all)));
        }
        else
        {
            string[] kept =
            [
                AnomalyColumns.ImagePath, AnomalyColumns.Label, AnomalyColumns.MaskPath, AnomalyColumns.DefectType, AnomalyColumns.Score,
                AnomalyColumns.PredictedLabel, AnomalyColumns.AnomalyMap, .. caps.HasNfa ? new[] { AnomalyColumns.LogNfa, AnomalyColumns.SegmentationMask } : [],
            ];
            // Scored once into ML.NET's cache (images are not cached: the evaluators get the model's input size explicitly).
            scored = ml.Data.Cache(model.Transform(test), kept);
        }
        var entries = new List<ReportEntry>();
        string? imagesDir = reportDir is null ? null : Path.Combine(reportDir.FullName, "images");
        if (imagesDir is not null) Directory.CreateDirectory(imagesDir);
        ConsoleProgress.Run(bars =>
        {
            int done = 0;
            foreach (ScoredImage row in ImageErrors.Named(ml.Data.CreateEnumerable<ScoredImage>(scored, reuseRowObject: false, ignoreMissingColumns: true), test))
            {
                if (imagesDir is not null) entries.Add(ReportImages.Write(imagesDir, row, done, data.FullName, caps));
                bars.Report("evaluate", ++done, total);
            }
            return done;
        });
        var metrics = EvalMetrics.Compute(ml, scored, caps, tilesPerImage);
        var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, value) in metrics.Rows) table.AddRow(name, value);
        AnsiConsole.Write(table);
        var typeRows = metrics.DefectTypeTable(out string[] typeHeader);
        var byType = new Table().Title("by defect type");
        foreach (string h in typeHeader) byType.AddColumn(h == typeHeader[0] ? new TableColumn(h) : new TableColumn(h).RightAligned());
        foreach (string[] r in typeRows) byType.AddRow(r.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(byType);
        if (!caps.HasNfa) AnsiConsole.MarkupLine(Markup.Escape(caps.NfaUnavailableLine));

        if (json is not null)
        {
            AtomicFile.WriteAllText(json.FullName, JsonSerializer.Serialize(metrics.Json, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"metrics written to [green]{Markup.Escape(json.FullName)}[/]");
        }
        if (reportDir is not null)
        {
            var extra = metrics.Rows.Concat([
                ("detection_rate_at_" + EvalMetrics.FalsePositiveCount + "_fp", EvalMetrics.F(metrics.Detection.DetectionRateAtFalsePositiveCount)),
                ("score_threshold", caps.Threshold.ToString("0.######", CultureInfo.InvariantCulture)),
                ("model", modelFile.Name), ("model_kind", caps.DisplayName), ("data", data.FullName),
            ]).ToList();
            string mapNote = caps.Kind == ModelKind.CsFlow
                ? $"Pixel metrics at {caps.MapText} (W×H: the input's aspect with the shorter side S = {caps.MapSize}; METHOD.md Part B's 256x256 is the square case) of the CS-Flow localisation map: channel-mean z² of the finest latent, bilinearly upsampled (C.4). " +
                  $"Heat maps use the fixed range [0, 4 x score threshold]."
                : $"Pixel metrics at {caps.MapText} (W×H: the input's aspect with the shorter side S = {caps.MapSize}; METHOD.md Part B's 256x256 is the square case). The segmentation is the automatic a-contrario one: pixels with log10 NFA < 0.";
            if (caps.Tiling is { } t)
            {
                mapNote = $"Pixel metrics at {caps.MapText}, the images' full resolution: maps stitched from {tilesPerImage} tiles of {t.TileSize}x{t.TileSize} (overlap {t.Overlap}) per image, " +
                          $"anomaly map = mean over overlapping tiles, image score = highest tile score. The segmentation is log10 NFA < 0 with log10 NFA = the lowest tile log10 NFA + log10 {tilesPerImage} (the number of tests counts every tile).";
            }
            string[] notes = caps.HasNfa ? [mapNote] : [mapNote, caps.NfaUnavailableLine];
            string page = HtmlReport.Write(reportDir.FullName, $"{caps.DisplayName} evaluation: {Path.GetFileName(data.FullName.TrimEnd('/'))}", extra, entries, (typeHeader, typeRows), notes);
            AnsiConsole.MarkupLine($"report written to [green]{Markup.Escape(page)}[/]");
        }
        AnsiConsole.MarkupLine($"done in {Timing.Describe(clock)}");
        return 0;
    }
}
