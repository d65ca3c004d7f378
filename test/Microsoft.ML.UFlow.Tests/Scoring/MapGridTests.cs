using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>The map grid: S×S for square latents (the paper's 256×256), the input's aspect with the shorter side S otherwise.</summary>
public sealed class MapGridTests
{
    [Theory]
    [InlineData(256, 64, 64, 256, 256)]   // square: the paper's grid
    [InlineData(256, 64, 80, 256, 320)]   // a 320x256 (W×H) input at stride 4
    [InlineData(256, 80, 64, 320, 256)]   // portrait
    [InlineData(256, 16, 40, 256, 640)]   // 640x256
    [InlineData(256, 9, 16, 256, 455)]    // 16:9, rounded (455.1)
    [InlineData(20, 8, 12, 20, 30)]
    [InlineData(6, 8, 12, 6, 9)]
    public void The_shorter_side_is_S_and_the_aspect_is_the_latents(int size, int latentHeight, int latentWidth, int height, int width)
        => Assert.Equal((height, width), MapGrid.For(size, latentHeight, latentWidth));

    [Fact]
    public void The_largest_latent_sets_the_grid_and_the_length_gives_it_back()
    {
        Assert.Equal((256, 320), MapGrid.For(256, [(16, 20), (64, 80), (32, 40)]));
        foreach (var (w, h) in new[] { (320, 256), (256, 256), (256, 640), (1260, 500), (512, 288) })
        {
            foreach (int s in new[] { 6, 64, 256 })
            {
                var grid = MapGrid.For(s, h, w);
                Assert.Equal(grid, MapGrid.FromLength(grid.Height * grid.Width, w, h));
            }
        }
        Assert.Null(MapGrid.FromLength(256 * 256 + 1, 320, 256));
        Assert.Throws<ArgumentOutOfRangeException>(() => MapGrid.For(0, 4, 4));
        Assert.Throws<ArgumentException>(() => MapGrid.For(4, Array.Empty<(int, int)>()));
    }
}
