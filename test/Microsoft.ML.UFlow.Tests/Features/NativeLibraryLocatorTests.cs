using Microsoft.ML.UFlow.Features.Onnx;

namespace Microsoft.ML.UFlow.Tests.Features;

public sealed class NativeLibraryLocatorTests
{
    [Fact]
    public void MissingLibraryNamesTheInstallScriptAndEveryPlaceSearched()
    {
        var e = Assert.Throws<DllNotFoundException>(() => NativeLibraryLocator.Load("libuflow_missing_test.so.7", "test"));
        Assert.Contains("build/install-native.sh", e.Message);
        Assert.Contains("UFLOW_NATIVE_DIR", e.Message);
        Assert.Contains(Path.Combine(AppContext.BaseDirectory, "libuflow_missing_test.so.7"), e.Message);
        Assert.Contains(Path.Combine(".native", "linux-x64", "libuflow_missing_test.so.7"), e.Message);
    }

    [Fact]
    public void SearchStartsWithTheEnvironmentFolderThenTheBaseDirectory()
    {
        string? saved = Environment.GetEnvironmentVariable(NativeLibraryLocator.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativeLibraryLocator.DirectoryVariable, "/opt/uflow-native");
            string[] candidates = NativeLibraryLocator.Candidates("libx.so").Take(3).ToArray();
            Assert.Equal("/opt/uflow-native/libx.so", candidates[0]);
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, "libx.so"), candidates[1]);
            Assert.EndsWith(Path.Combine(".native", "linux-x64", "libx.so"), candidates[2]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(NativeLibraryLocator.DirectoryVariable, saved);
        }
    }

    [Fact]
    public void OnnxRuntimeIsFoundAndIsVersion130()
    {
        Assert.StartsWith("1.30", OrtApi.Version);
        Assert.Contains("CPUExecutionProvider", OrtApi.GetAvailableProviders());
    }
}
