using Microsoft.ML.UFlow.Cli;
using Microsoft.ML.UFlow.Cli.Commands;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Cli;

/// <summary>
/// <c>uflow train --held-out/--calibration/--patience</c> and what train and eval print of the held-out normals: the loss
/// and mean z² per epoch, the calibration, and a warning when the model is far from calibrated.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class CalibrationCliTests
{
    [SharedDataFact]
    public void Train_prints_the_held_out_normals_per_epoch_and_eval_prints_the_calibration()
    {
        using var data = TinyBottle.Create(train: 9);
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        string model = Path.Combine(data.Root, "out", "bottle.zip");
        var (code, output) = CliRunner.Run("train", "--data", data.Dataset, "--backbone", backbone, "--input-size", "64", "--epochs", "2", "--batch", "4",
            "--held-out", "0.5", "--calibration", "held-out", "--patience", "5", "--out", model);
        Assert.True(code == 0, output);
        Assert.Contains("held out 0.5, calibration held-out, patience 5", output);
        Assert.Matches(@"epoch 1/2  loss \S+  held-out loss \S+  mean z² [0-9.]+/[0-9.]+/[0-9.]+", output);
        Assert.Matches(@"epoch 2/2  loss", output);
        Assert.Contains("held-out normals (5 images)", output); // ⌈0.5·9⌉ = 5, 4 trained on

        var facts = UFlowModelInfo.Read(model);
        Assert.Equal(LatentCalibration.HeldOutScale, facts.Calibration);
        (code, output) = CliRunner.Run("eval", "--model", model, "--data", data.Dataset);
        Assert.True(code == 0, output);
        Assert.Contains($"held-out normals (5 images): loss {CalibrationReport.Number(facts.HeldOut!.Loss)}, mean z² per scale {CalibrationReport.List(facts.HeldOut.MeanSquarePerScale)}; NFA calibration held-out (statistic divided by", output);
    }

    [Fact]
    public void Held_out_options_are_U_Flows_and_are_refused_for_CS_Flow()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("csflow", null, null, null, null, null, null, null, null, 0, heldOut: 0.1));
        Assert.Contains("--held-out", e.Message);
        Assert.Throws<ArgumentException>(() => TrainSettings.Resolve("csflow", null, null, null, null, null, null, null, null, 0, patience: 3));
        var u = TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, null, null, 0, heldOut: 0.2, calibration: "held-out", patience: 3);
        Assert.Equal((0.2, LatentCalibration.HeldOutScale, 3), (u.HeldOut, u.Calibration, u.Patience));
        var d = TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, null, null, 0);
        Assert.Equal((UFlowTrainer.Options.Defaults.HeldOutFraction, LatentCalibration.HeldOutScale, 2), (d.HeldOut, d.Calibration, d.Patience));
        // Nothing held out: nothing to calibrate or stop on, the paper's way.
        var none = TrainSettings.Resolve("uflow", "b.onnx", null, null, null, null, null, null, null, 0, heldOut: 0);
        Assert.Equal((0.0, LatentCalibration.None, 0), (none.HeldOut, none.Calibration, none.Patience));
    }

    [Fact]
    public void A_model_far_from_calibrated_is_warned_about()
    {
        // Uncalibrated: a scale's held-out mean z² outside [0.9, 1.1].
        Assert.Empty(CalibrationReport.Warnings(new HeldOutEvaluation(10, 1, [0.95, 1.08]), LatentCalibration.None, null));
        string w = Assert.Single(CalibrationReport.Warnings(new HeldOutEvaluation(10, 1, [0.95, 1.3]), LatentCalibration.None, null));
        Assert.Contains("1.3 at scale 2", w);
        Assert.Contains("--calibration held-out", w);
        Assert.Single(CalibrationReport.Warnings(new HeldOutEvaluation(10, 1, [0.85, 1.0]), LatentCalibration.None, null));
        // Calibrated: a divisor outside [0.5, 2] says the density is degenerate; 1.3 is calibrated away.
        Assert.Empty(CalibrationReport.Warnings(new HeldOutEvaluation(10, 1, [0.6, 1.3]), LatentCalibration.HeldOutScale, [0.6, 1.3]));
        string d = Assert.Single(CalibrationReport.Warnings(new HeldOutEvaluation(10, 1, [3.5, 1.0]), LatentCalibration.HeldOutScale, [3.5, 1.0]));
        Assert.Contains("3.5 at scale 1", d);
        Assert.Contains("degenerate", d);
    }
}
