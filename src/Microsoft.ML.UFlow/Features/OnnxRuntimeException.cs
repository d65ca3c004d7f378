namespace Microsoft.ML.UFlow.Features;

/// <summary>ONNX Runtime's error codes (<c>OrtErrorCode</c>), as reported by a failed call.</summary>
public enum OnnxRuntimeErrorCode
{
    /// <summary>No error.</summary>
    Ok = 0,
    /// <summary>Generic failure.</summary>
    Fail = 1,
    /// <summary>An argument was invalid.</summary>
    InvalidArgument = 2,
    /// <summary>A file does not exist.</summary>
    NoSuchFile = 3,
    /// <summary>No model was loaded.</summary>
    NoModel = 4,
    /// <summary>The engine failed.</summary>
    EngineError = 5,
    /// <summary>An exception was raised while running the model.</summary>
    RuntimeException = 6,
    /// <summary>The model is not a valid ONNX protobuf.</summary>
    InvalidProtobuf = 7,
    /// <summary>The model is already loaded.</summary>
    ModelLoaded = 8,
    /// <summary>The feature is not implemented in this build.</summary>
    NotImplemented = 9,
    /// <summary>The graph is invalid.</summary>
    InvalidGraph = 10,
    /// <summary>An execution provider failed.</summary>
    ExecutionProviderFail = 11,
}

/// <summary>An error reported by ONNX Runtime: carries ORT's own error code and message.</summary>
public sealed class OnnxRuntimeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxRuntimeException(OnnxRuntimeErrorCode errorCode, string message)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    /// <summary>ONNX Runtime's error code (values ORT added after 1.30's first eleven are passed through unnamed).</summary>
    public OnnxRuntimeErrorCode ErrorCode { get; }
}
