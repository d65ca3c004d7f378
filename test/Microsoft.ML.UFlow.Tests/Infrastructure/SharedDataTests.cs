namespace Microsoft.ML.UFlow.Tests.Infrastructure;

public class SharedDataTests
{
    [SharedDataFact]
    public void SharedFolderHasTheDocumentedContents()
    {
        Assert.NotNull(SharedData.Bottle);
        Assert.NotNull(SharedData.Mtd);
        Assert.NotNull(SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx"));
        Assert.NotNull(SharedData.File("models", "resnet50v2_imagenet_layer1-3.onnx"));
    }
}
