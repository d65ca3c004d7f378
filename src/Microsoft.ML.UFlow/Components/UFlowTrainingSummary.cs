namespace Microsoft.ML.UFlow;

/// <summary>What a U-Flow or CS-Flow training did: epochs, optimiser steps, images, the last epoch's mean loss, and the
/// seconds spent featurising and training; for U-Flow with held-out images, also their evaluation, the early stop and the
/// latent calibration.</summary>
public sealed record UFlowTrainingSummary(int Epochs, int Steps, int TrainingImages, double FinalLoss, double FeaturizeSeconds, double TrainSeconds)
{
    /// <summary>The exported flow evaluated on the held-out normal images; null when none were held out.</summary>
    public HeldOutEvaluation? HeldOut { get; init; }

    /// <summary>The 0-based epoch whose weights were exported (the last one, or with early stopping the best one); null when no epoch was evaluated.</summary>
    public int? ExportedEpoch { get; init; }

    /// <summary>Whether early stopping ended training before its last epoch.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>The calibration applied to the latents the NFA reads.</summary>
    public LatentCalibration Calibration { get; init; }
}
