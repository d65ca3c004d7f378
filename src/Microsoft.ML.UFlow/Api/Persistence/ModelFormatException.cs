namespace Microsoft.ML.UFlow.Api.Persistence;

/// <summary>A model file is unreadable: corrupt, not a U-Flow model, an unknown component, or written by a newer version.</summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }
}
