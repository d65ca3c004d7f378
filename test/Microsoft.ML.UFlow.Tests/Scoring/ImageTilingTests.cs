namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>
/// Tile geometry (<see cref="ImageTiling"/>): how many tiles, where they start, the last one aligned to the border, every
/// pixel covered and none outside; and one clear message for each bad setting.
/// </summary>
public sealed class ImageTilingTests
{
    [Fact]
    public void Tiles_start_every_step_and_the_last_is_aligned_to_the_border()
    {
        var tiling = new ImageTiling(256, 32);
        Assert.Equal(224, tiling.Step);
        // 900: 0, 224, 448 and then 672 would end at 928 > 900, so the last starts at 900 − 256 = 644.
        Assert.Equal([0, 224, 448, 644], tiling.Starts(900));
        Assert.Equal([0], tiling.Starts(256)); // exactly one tile
        Assert.Equal([0, 1], tiling.Starts(257)); // one pixel more: a second tile, aligned to the border
        Assert.Equal([0, 224], tiling.Starts(480)); // 224 + 256 = 480: the regular step already ends at the border
        Assert.Equal([0, 256, 512, 768], new ImageTiling(256, 0).Starts(1024));
        Assert.Equal(16, tiling.Count(900, 900));
        Assert.Equal(4 * 2, tiling.Count(900, 480));
        var tiles = tiling.Tiles(900, 480);
        Assert.Equal(new ImageTile(0, 0, 256), tiles[0]);
        Assert.Equal(new ImageTile(644, 0, 256), tiles[3]); // row by row
        Assert.Equal(new ImageTile(0, 224, 256), tiles[4]);
        Assert.Equal(new ImageTile(644, 224, 256), tiles[^1]);
    }

    [Theory]
    [InlineData(256, 32, 900, 900)]
    [InlineData(256, 0, 1024, 700)]
    [InlineData(64, 63, 200, 65)]
    [InlineData(96, 40, 96, 1000)]
    public void Tiles_cover_every_pixel_overlap_by_at_least_the_overlap_and_stay_inside(int tile, int overlap, int width, int height)
    {
        var tiling = new ImageTiling(tile, overlap);
        var coverage = new int[width * height];
        foreach (ImageTile t in tiling.Tiles(width, height))
        {
            Assert.True(t.X >= 0 && t.Y >= 0 && t.X + t.Size <= width && t.Y + t.Size <= height, $"{t} reaches outside {width}x{height}");
            for (int y = t.Y; y < t.Y + t.Size; y++)
            {
                for (int x = t.X; x < t.X + t.Size; x++) coverage[y * width + x]++;
            }
        }
        Assert.DoesNotContain(0, coverage);
        foreach (int length in new[] { width, height })
        {
            int[] starts = tiling.Starts(length);
            Assert.Equal(length - tile, starts[^1]);
            for (int k = 1; k < starts.Length; k++)
            {
                Assert.InRange(starts[k] - starts[k - 1], 1, tiling.Step); // neighbours share at least the overlap
            }
            // No more tiles than needed: without the last one the border would not be reached.
            Assert.True(starts.Length == 1 || starts[^2] + tile < length);
        }
    }

    [Fact]
    public void Bad_settings_and_images_smaller_than_a_tile_are_one_clear_message_each()
    {
        Assert.Contains("smaller than the tile size 256", Assert.Throws<ArgumentOutOfRangeException>(() => new ImageTiling(256, 256)).Message);
        Assert.Contains("at least 0", Assert.Throws<ArgumentOutOfRangeException>(() => new ImageTiling(256, -1)).Message);
        Assert.Contains("must be positive", Assert.Throws<ArgumentOutOfRangeException>(() => new ImageTiling(0, 0)).Message);
        var stride = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageTiling(250, 32).RequireMultipleOf(32));
        Assert.Contains("250 is not a multiple of 32", stride.Message);
        Assert.Contains("for example 224 or 256", stride.Message);
        new ImageTiling(256, 32).RequireMultipleOf(32);
        var small = Assert.Throws<ArgumentException>(() => new ImageTiling(256, 32).RequireFits(900, 200, "The image 'a.png'"));
        Assert.Contains("The image 'a.png' is 900x200 (W×H), smaller than one 256x256 tile", small.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageTiling(256, 32).Starts(255));
    }
}
