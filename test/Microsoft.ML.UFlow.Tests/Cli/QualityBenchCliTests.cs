using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// <c>uflow bench quality</c> on a tiny copy of bottle: the curve has one complete row per epoch, and a run stopped and
/// continued with <c>--checkpoint</c>/<c>--resume</c> gives the same curve (losses and every metric) as the run that
/// went through.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class QualityBenchCliTests
{
    [SharedDataFact]
    public void ResumedRunContinuesTheCurveOfTheRunItResumes()
    {
        using var data = TinyBottle.Create();
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string outDir = Path.Combine(data.Root, "out");
        string cache = Path.Combine(data.Root, "cache");
        Directory.CreateDirectory(cache);
        string checkpoint = Path.Combine(outDir, "run.ckpt");
        string[] Args(string name, int epochs, params string[] extra) =>
        [
            "bench", "quality", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--lr", "1e-3", "--batch", "3",
            "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--eval-every", "2", "--cache", cache,
            "--out", Path.Combine(outDir, name), .. extra,
        ];

        // The bench verbs print to the process console, so capture that for the failure messages.
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(printed));
        int straight, first, second, missing, evaluated, guarded, noCheckpoint, withResume;
        string noCheckpointError, withResumeError;
        try
        {
            (straight, _) = CliRunner.Run(Args("straight", 3));
            (first, _) = CliRunner.Run(Args("resumed", 2, "--checkpoint", checkpoint));
            (second, _) = CliRunner.Run(Args("resumed", 3, "--checkpoint", checkpoint, "--resume"));
            (missing, _) = CliRunner.Run(Args("other", 3, "--checkpoint", Path.Combine(outDir, "none.ckpt"), "--resume"));
            (evaluated, _) = CliRunner.Run(Args("evaluated", 3, "--checkpoint", checkpoint, "--evaluate-only"));
            (guarded, _) = CliRunner.Run(Args("guarded", 3, "--checkpoint", checkpoint, "--evaluate-only", "--under-dispersion-guard"));
            (noCheckpoint, noCheckpointError) = CliRunner.Run(Args("none", 3, "--evaluate-only"));
            (withResume, withResumeError) = CliRunner.Run(Args("none", 3, "--checkpoint", checkpoint, "--evaluate-only", "--resume"));
        }
        finally
        {
            Console.SetOut(console);
        }
        string output = printed.ToString();
        Assert.True(straight == 0 && first == 0 && second == 0, output);
        Assert.NotEqual(0, missing);
        Assert.Contains("resumed from " + checkpoint + ": 2 epochs done", output);

        string[] expected = File.ReadAllLines(Path.Combine(outDir, "straight.csv"));
        string[] resumed = File.ReadAllLines(Path.Combine(outDir, "resumed.csv"));
        Assert.Equal(4, expected.Length);
        Assert.Equal(expected[0], resumed[0]);
        int columns = expected[0].Split(',').Length;
        for (int row = 1; row < expected.Length; row++)
        {
            string[] a = expected[row].Split(','), b = resumed[row].Split(',');
            Assert.Equal(columns, a.Length);
            Assert.Equal(columns, b.Length);
            // Everything but the timings (train_s, eval_s) and the peak memory is identical.
            for (int c = 0; c < columns - 1; c++)
            {
                if (c is 2 or 3) continue;
                Assert.True(a[c] == b[c], $"epoch {row}, column {expected[0].Split(',')[c]}: {a[c]} vs {b[c]}");
            }
        }
        Assert.Equal("", expected[1].Split(',')[4]); // epoch 1 was not evaluated (every 2nd epoch, and the last)
        Assert.NotEqual("", expected[3].Split(',')[4]);
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp"));

        // --evaluate-only on the 3-epoch checkpoint: the metrics of epoch 3 again, without training, and the per-type
        // breakdown adds up to them (2 normal + 2 broken_large test images).
        Assert.True(evaluated == 0 && guarded == 0, output);
        Assert.True(noCheckpoint != 0 && withResume != 0, output);
        Assert.Contains("--evaluate-only evaluates the flow saved in --checkpoint", noCheckpointError);
        Assert.Contains("--evaluate-only does not train", withResumeError);
        Assert.Contains("NFA with the under-dispersion guard", output);
        Assert.False(File.Exists(Path.Combine(outDir, "evaluated.csv")));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "evaluated.eval.json")));
        using var guardDoc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "guarded.eval.json")));
        Assert.False(doc.RootElement.GetProperty("under_dispersion_guard").GetBoolean());
        Assert.True(guardDoc.RootElement.GetProperty("under_dispersion_guard").GetBoolean());
        var m = doc.RootElement.GetProperty("metrics");
        Assert.Equal(3, doc.RootElement.GetProperty("epochs_done").GetInt32());
        string[] header = expected[0].Split(','), last = expected[3].Split(',');
        foreach (string name in new[] { "pixel_auroc", "aupro", "image_auroc" })
        {
            double fromCurve = double.Parse(last[Array.IndexOf(header, name)], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(fromCurve, m.GetProperty(name).GetDouble(), 4);
        }
        double miou = m.GetProperty("miou_log_nfa_lt_0").GetDouble();
        Assert.Equal(double.Parse(last[Array.IndexOf(header, "miou_nfa")], System.Globalization.CultureInfo.InvariantCulture), miou, 4);
        var types = m.GetProperty("by_defect_type").EnumerateArray().ToList();
        Assert.Equal(["good", "broken_large"], types.Select(t => t.GetProperty("defect_type").GetString()));
        Assert.Equal(miou, types.Sum(t => t.GetProperty("miou_nfa").GetDouble() * t.GetProperty("n_images").GetInt32()) / 4, 9);
    }

    [SharedDataFact]
    public void Held_out_images_are_in_the_curve_and_evaluate_only_gives_the_nfa_before_and_after_calibration()
    {
        using var data = TinyBottle.Create(train: 9);
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string outDir = Path.Combine(data.Root, "out");
        string checkpoint = Path.Combine(outDir, "run.ckpt");
        string[] Args(string name, int epochs, params string[] extra) =>
        [
            "bench", "quality", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--lr", "1e-3", "--batch", "3",
            "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--checkpoint", checkpoint, "--out", Path.Combine(outDir, name), .. extra,
        ];
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(printed));
        int trained, resumed, other, evaluated;
        try
        {
            (trained, _) = CliRunner.Run(Args("run", 1, "--held-out", "0.5", "--calibration", "held-out"));
            (resumed, _) = CliRunner.Run(Args("run", 2, "--held-out", "0.5", "--calibration", "held-out", "--resume"));
            (other, _) = CliRunner.Run(Args("run", 3, "--held-out", "0.3", "--resume"));
            (evaluated, _) = CliRunner.Run(Args("eval", 2, "--held-out", "0.5", "--evaluate-only"));
        }
        finally
        {
            Console.SetOut(console);
        }
        string output = printed.ToString();
        Assert.True(trained == 0 && resumed == 0 && evaluated == 0, output);
        Assert.NotEqual(0, other); // another held-out slice than the checkpoint's
        Assert.Contains("held out 5 of 9 training images; NFA calibrated on them every epoch", output);

        string[] curve = File.ReadAllLines(Path.Combine(outDir, "run.csv"));
        string[] header = curve[0].Split(',');
        Assert.Equal(3, curve.Length);
        Assert.Equal(["held_out_nll", "held_out_mean_z2_scale1", "held_out_mean_z2_scale2", "held_out_mean_z2_scale3"], header[^4..]);
        string[] last = curve[2].Split(',');
        Assert.All(last[^4..], v => Assert.NotEqual("", v));

        // --evaluate-only: the same held-out numbers, the metrics without calibration and with it (the curve's, which was
        // calibrated); the anomaly map, hence AUROC and AUPRO, does not change.
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "eval.eval.json")));
        var before = doc.RootElement.GetProperty("metrics");
        var after = doc.RootElement.GetProperty("metrics_calibrated");
        Assert.False(doc.RootElement.GetProperty("held_out_trained_on").GetBoolean());
        var z2 = before.GetProperty("held_out_mean_z2_per_scale").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int l = 0; l < 3; l++) Assert.Equal(double.Parse(last[^(3 - l)], System.Globalization.CultureInfo.InvariantCulture), z2[l], 4);
        Assert.Equal(5, before.GetProperty("held_out_images").GetInt32());
        foreach (string name in new[] { "pixel_auroc", "aupro", "image_auroc" }) Assert.Equal(before.GetProperty(name).GetDouble(), after.GetProperty(name).GetDouble());
        double curveMiou = double.Parse(last[Array.IndexOf(header, "miou_nfa")], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(curveMiou, after.GetProperty("miou_log_nfa_lt_0").GetDouble(), 4);
        // The calibrated latents' mean z² on the normal test images is the uncalibrated one divided by the held-out one.
        var normalBefore = before.GetProperty("normal_mean_z2_per_scale").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var normalAfter = after.GetProperty("normal_mean_z2_per_scale").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int l = 0; l < 3; l++) Assert.Equal(normalBefore[l] / z2[l], normalAfter[l], 1e-4 * normalAfter[l]);
    }
}
