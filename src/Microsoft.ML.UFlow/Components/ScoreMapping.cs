using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.UFlow;

/// <summary>The columns the score mapping reads: a flow graph's image score and threshold (one-element vectors).</summary>
public sealed class ScoreMappingInput
{
    /// <summary>The image score as the flow graph outputs it.</summary>
    [ColumnName(ScoreMapping.RawScoreColumn), VectorType]
    public float[] RawScore { get; set; } = [];

    /// <summary>The model's threshold, a constant output of the flow graph.</summary>
    [ColumnName(ScoreMapping.ThresholdColumn), VectorType]
    public float[] Threshold { get; set; } = [];
}

/// <summary>The columns ML.NET's anomaly evaluator reads: <c>Score</c> (Single) and <c>PredictedLabel</c> (Boolean).</summary>
public sealed class ScoreMappingOutput
{
    /// <summary>The image anomaly score.</summary>
    [ColumnName(AnomalyColumns.Score)]
    public float Score { get; set; }

    /// <summary>Score &gt; threshold.</summary>
    [ColumnName(AnomalyColumns.PredictedLabel)]
    public bool PredictedLabel { get; set; }
}

/// <summary>
/// Turns a flow graph's one-element score and threshold vectors (ONNX outputs are vectors in ML.NET) into the scalar
/// <c>Score</c> and <c>PredictedLabel</c> columns of ML.NET's anomaly-detection convention. Stateless, saved by the
/// contract name <see cref="ContractName"/>.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ScoreMapping : CustomMappingFactory<ScoreMappingInput, ScoreMappingOutput>
{
    /// <summary>The contract name saved in model files.</summary>
    public const string ContractName = "Microsoft.ML.UFlow.Score.v1";

    /// <summary>The flow graph's image-score output.</summary>
    public const string RawScoreColumn = "Score.Raw";

    /// <summary>The flow graph's threshold output.</summary>
    public const string ThresholdColumn = "Score.Threshold";

    /// <inheritdoc/>
    public override Action<ScoreMappingInput, ScoreMappingOutput> GetMapping() => Map;

    internal static void Map(ScoreMappingInput input, ScoreMappingOutput output)
    {
        if (input.RawScore.Length != 1 || input.Threshold.Length != 1)
            throw new InvalidOperationException($"Columns '{RawScoreColumn}' and '{ThresholdColumn}' must hold one value each; they hold {input.RawScore.Length} and {input.Threshold.Length}.");
        output.Score = input.RawScore[0];
        output.PredictedLabel = input.RawScore[0] > input.Threshold[0];
    }
}
