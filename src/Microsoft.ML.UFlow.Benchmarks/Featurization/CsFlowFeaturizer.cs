using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Benchmarks.Featurization;

/// <summary>
/// CS-Flow's feature extraction as an <see cref="IFeaturizer"/> (METHOD.md C.1): one backbone output, computed on the
/// normalised input at full size and on its nearest-neighbour copies at 1/2 and 1/4, gives the three maps (finest
/// first) that the CS-Flow network takes. Any single-output featurizer works (e.g. an
/// <see cref="OnnxFeaturizer"/> with output <c>stride16</c>).
/// </summary>
/// <remarks>The maps returned by <see cref="Extract"/> are owned by this object and overwritten by the next call.</remarks>
internal sealed class CsFlowFeaturizer : IFeaturizer
{
    private readonly IFeaturizer _backbone;
    private readonly bool _ownsBackbone;
    private readonly Tensor[] _maps = [new(1), new(1), new(1)];

    /// <summary>Wraps <paramref name="backbone"/>, which must produce exactly one feature map.</summary>
    /// <param name="backbone">The single-output featurizer run at each input scale.</param>
    /// <param name="ownsBackbone">Whether <see cref="Dispose"/> also disposes the backbone.</param>
    /// <exception cref="ArgumentException">The backbone has more or fewer than one output.</exception>
    public CsFlowFeaturizer(IFeaturizer backbone, bool ownsBackbone = true)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        if (backbone.OutputNames.Count != 1)
        {
            throw new ArgumentException($"CS-Flow uses one backbone output at three input scales, but the featurizer has {backbone.OutputNames.Count}: {string.Join(", ", backbone.OutputNames)}.", nameof(backbone));
        }
        _backbone = backbone;
        _ownsBackbone = ownsBackbone;
        string name = backbone.OutputNames[0];
        OutputNames = [name + "@1", name + "@1/2", name + "@1/4"];
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> OutputNames { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureMapInfo> Describe(int height, int width)
    {
        var infos = new FeatureMapInfo[3];
        for (int s = 0; s < 3; s++)
        {
            int h = s == 0 ? height : height / (1 << s), w = s == 0 ? width : width / (1 << s);
            FeatureMapInfo info = _backbone.Describe(h, w)[0];
            infos[s] = info with { Name = OutputNames[s], Stride = Math.Max(1, (int)Math.Round((double)height / info.Height)) };
        }
        if (infos[0].Height != 2 * infos[1].Height || infos[1].Height != 2 * infos[2].Height || infos[0].Width != 2 * infos[1].Width || infos[1].Width != 2 * infos[2].Width)
        {
            throw new ArgumentException(
                $"For a {height}x{width} input the maps are {string.Join(", ", infos.Select(i => $"{i.Height}x{i.Width}"))}; each must be exactly half the previous one. " +
                "Use an input size that is a multiple of 4 × the backbone's stride.", nameof(height));
        }
        return infos;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The maps of the three scales do not halve exactly (input size not a multiple of 4 × stride).</exception>
    public IReadOnlyList<Tensor> Extract(Tensor batch)
    {
        Tensor[] inputs = CsFlowInputScales.Make(batch);
        for (int s = 0; s < 3; s++)
        {
            Tensor map = _backbone.Extract(inputs[s])[0];
            _maps[s].EnsureShape(map.Shape.ToArray());
            map.Span.CopyTo(_maps[s].Span);
        }
        CsFlowInputScales.CheckScales(_maps, _maps[0].C, "features");
        return _maps;
    }

    /// <summary>Disposes the backbone when this object owns it.</summary>
    public void Dispose()
    {
        if (_ownsBackbone) _backbone.Dispose();
    }
}
