namespace Microsoft.ML.UFlow;

/// <summary>What a U-Flow or CS-Flow training did: epochs, optimiser steps, images, the last epoch's mean loss, and the
/// seconds spent featurising and training.</summary>
public sealed record UFlowTrainingSummary(int Epochs, int Steps, int TrainingImages, double FinalLoss, double FeaturizeSeconds, double TrainSeconds);
