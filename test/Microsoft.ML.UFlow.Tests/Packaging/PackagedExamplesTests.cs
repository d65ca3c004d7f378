using Microsoft.ML.UFlow.Tests.Cli;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Packaging;

/// <summary>
/// The product as a user gets it: the library packed as the README says, into artifacts/ under a prerelease version of
/// this run only (so that no package of the same version in the NuGet cache can stand in for it), and both examples
/// built against that package (examples/NuGet.config) and run on a few bottle images: BottleAnomalyDetection trains
/// (TorchSharp-cpu; on Debian 12 only with the package's buildTransitive fix) and saves, InspectionService scores with no
/// libtorch in its output, and a program with no libtorch backend that trains is told which package to add. A missing
/// dependency, a build file not shipped or a type not public fails here.
/// </summary>
public sealed class PackagedExamplesTests
{
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromMinutes(5);

    // libtorch's own libraries on Linux, macOS and Windows (TorchSharp's binding, libLibTorchSharp / LibTorchSharp, is not libtorch).
    private static readonly string[] s_libtorchPrefixes = ["libtorch", "libc10", "torch_cpu", "c10."];

    [SharedDataFact]
    public void The_examples_build_and_run_against_the_packed_library()
    {
        string backbone = SharedData.File("models", "mobilenetv2_1.0_imagenet_features.onnx")!;
        Assert.NotNull(backbone);
        string repo = SharedData.RepositoryRoot;
        using var work = PackagingWorkspace.Create();
        using var data = TinyBottle.Create(train: 9); // the default holds out 4 of them (at least 4 must remain to train on)
        string version = "2.0.0-" + work.VersionSuffix;

        // The README's pack command, for the library.
        Run(DotNetProcess.DotNet, ["pack", Path.Combine(repo, "src", "Microsoft.ML.UFlow", "Microsoft.ML.UFlow.csproj"), "-o", PackagingWorkspace.Artifacts, .. work.CommonOptions()], repo);
        string nupkg = Path.Combine(PackagingWorkspace.Artifacts, $"Microsoft.ML.UFlow.{version}.nupkg");
        Assert.True(File.Exists(nupkg), $"dotnet pack wrote no {nupkg}");
        Assert.True(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), "no symbol package beside " + nupkg);
        CheckLibraryPackage(NuGetPackage.Read(nupkg));

        // Train, save, evaluate, predict: the README program on the package, one epoch on five images (four held out).
        string model = Path.Combine(work.Root, "bottle.zip");
        string bottle = Build(work, repo, Path.Combine("examples", "BottleAnomalyDetection", "BottleAnomalyDetection.csproj"));
        string trained = Run(Path.Combine(bottle, "BottleAnomalyDetection"), [data.Dataset, backbone, "1", model], work.Root);
        // The model carries the packed library's version: this run's package, not a cached one, wrote it.
        Assert.Contains($"written by Microsoft.ML.UFlow {version}", trained);
        Assert.Contains("image AUROC", trained);
        Assert.True(File.Exists(model), trained);
        if (OperatingSystem.IsLinux()) Assert.True(File.Exists(Path.Combine(bottle, "runtimes", "linux-x64", "native", "libtorch_cpu.so")), "the trainer's output lacks libtorch");

        // Inference only: no libtorch anywhere in its output, and it scores a folder.
        string inspection = Build(work, repo, Path.Combine("examples", "InspectionService", "InspectionService.csproj"));
        string[] libtorch = Directory.GetFiles(inspection, "*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f))
            .Where(f => s_libtorchPrefixes.Any(p => f.StartsWith(p, StringComparison.Ordinal))).ToArray();
        Assert.True(libtorch.Length == 0, "InspectionService's output holds libtorch: " + string.Join(", ", libtorch));
        Assert.DoesNotContain("libtorch-cpu", File.ReadAllText(Path.Combine(inspection, "InspectionService.deps.json")));

        string images = Path.Combine(work.Root, "images");
        Directory.CreateDirectory(images);
        foreach (string image in data.TestImages)
            File.Copy(image, Path.Combine(images, $"{Path.GetFileName(Path.GetDirectoryName(image))}_{Path.GetFileName(image)}"));
        string overlays = Path.Combine(work.Root, "overlays");
        string inspected = Run(Path.Combine(inspection, "InspectionService"), [model, images, overlays], work.Root);
        foreach (string image in Directory.GetFiles(images))
        {
            string name = Path.GetFileName(image);
            string line = inspected.Split('\n').SingleOrDefault(l => l.StartsWith(name + ": ", StringComparison.Ordinal)) ?? "";
            Assert.True(line.Contains("ANOMALOUS") || line.Contains("normal ("), $"no verdict for {name}:\n{inspected}");
            byte[] png = File.ReadAllBytes(Path.Combine(overlays, Path.GetFileNameWithoutExtension(image) + "_overlay.png"));
            Assert.True(png.Length > 8 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', $"the overlay of {name} is not a PNG");
        }
        Assert.Contains($"of {data.TestCount} images anomalous", inspected);

        var (code, output) = DotNetProcess.Run(Path.Combine(inspection, "InspectionService"), [Path.Combine(work.Root, "missing.zip"), images], work.Root, s_commandTimeout);
        Assert.True(code == 1 && output.Contains("error:") && output.Contains("missing.zip"), $"a missing model: exit {code}\n{output}");

        // A program that trains but references no libtorch backend: refused at once, naming the package.
        string noBackend = Build(work, repo, NoBackendProject(work.Root, version), Path.Combine(repo, "artifacts"));
        (code, output) = DotNetProcess.Run(Path.Combine(noBackend, "NoBackend"), [data.Dataset, backbone], work.Root, s_commandTimeout);
        Assert.True(code == 3, $"training without a backend: exit {code}\n{output}");
        Assert.Contains("TorchSharp-cpu", output);
    }

    private static void CheckLibraryPackage(NuGetPackage package)
    {
        foreach (string file in (string[])["lib/net10.0/Microsoft.ML.UFlow.dll", "lib/net10.0/Microsoft.ML.UFlow.xml", "README.md",
                     "buildTransitive/Microsoft.ML.UFlow.targets", "buildTransitive/TorchSharp.Glibcxx.targets", "buildTransitive/TorchSharp.Glibcxx.Task.cs"])
            Assert.True(package.Files.Contains(file), $"the package lacks {file}: {string.Join(", ", package.Files)}");
        Assert.Equal("MIT", (string?)package.Element("license"));
        Assert.Equal("README.md", (string?)package.Element("readme"));
        Assert.Equal("git", (string?)package.Element("repository")?.Attribute("type"));
        string[] dependencies = package.DependencyIds;
        foreach (string id in (string[])["Microsoft.ML", "Microsoft.ML.ImageAnalytics", "Microsoft.ML.OnnxTransformer", "Microsoft.ML.OnnxRuntime", "TorchSharp"])
            Assert.Contains(id, dependencies);
        Assert.DoesNotContain(dependencies, id => id.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase) || id.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
    }

    // Builds a consumer of the run's package and returns its output folder.
    private static string Build(PackagingWorkspace work, string repo, string project, string? extraSource = null)
    {
        string[] source = extraSource is null ? [] : [$"-p:RestoreAdditionalProjectSources={extraSource}"];
        Run(DotNetProcess.DotNet, ["build", Path.Combine(repo, project), .. work.ConsumerOptions(), .. source], repo);
        return work.OutputOf(Path.GetFileNameWithoutExtension(project));
    }

    // A user's project outside the repository (no Directory.Build.props, the user's NuGet sources plus artifacts/) that
    // references the package and no libtorch backend, and fits U-Flow; exit code 3 and the message when training is refused.
    private static string NoBackendProject(string root, string version)
    {
        string folder = Path.Combine(root, "NoBackend");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "NoBackend.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.ML.UFlow" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), """
            using Microsoft.ML;
            using Microsoft.ML.UFlow;

            var ml = new MLContext(seed: 0);
            var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
                .Append(ml.Transforms.ResizeImages("Image", 64, 64))
                .Append(ml.Transforms.ApplyOnnxFeaturizer("Features", "Image", args[1], ["stride4", "stride8", "stride16"]))
                .Append(ml.AnomalyDetection.Trainers.UFlow(new UFlowTrainer.Options { Epochs = 1 }));
            try
            {
                pipeline.Fit(ml.Data.LoadAnomalyImages(args[0], AnomalyImageSplit.Train));
                return 0;
            }
            catch (InvalidOperationException e)
            {
                Console.WriteLine(e.Message);
                return 3;
            }
            """);
        return Path.Combine(folder, "NoBackend.csproj");
    }

    private static string Run(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var (code, output) = DotNetProcess.Run(fileName, arguments, workingDirectory, s_commandTimeout);
        Assert.True(code == 0, $"'{Path.GetFileName(fileName)} {string.Join(' ', arguments)}' exited with {code}:\n{output}");
        return output;
    }
}
