using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>
/// The NFA over tiles (<see cref="TileStitcher"/>, what <see cref="TiledAnomalyScorer"/> stitches with): each tile's tree
/// tests N_T(tile) regions, the image n_tiles·N_T(tile), so log10 NFA_image = log10 NFA_tile + log10 n_tiles; −log10 NFA
/// is the maximum over overlapping tiles, the anomaly map their mean.
/// </summary>
public sealed class TiledNfaTests
{
    [Fact]
    public void A_region_planted_in_one_tile_is_found_at_its_place_with_the_offset_of_the_tile_count()
    {
        // A 40x40 latent "image" of 16 channels cut into 16x16 tiles overlapping by 4: starts 0, 12, 24 → 9 tiles. z ~ N(0, 1)
        // except rows 28..35, columns 30..37, N(0, 3²): only the bottom-right tile (24..39 both ways) holds that block.
        const int Side = 40, Channels = 16, Row = 28, Column = 30, Block = 8;
        var tiling = new ImageTiling(16, 4);
        var rng = new SeededRandom(11);
        var z = new float[Channels * Side * Side];
        NfaSegmenterTests.FillGaussian(z, rng, 1.0);
        for (int c = 0; c < Channels; c++)
        {
            for (int y = Row; y < Row + Block; y++)
            {
                for (int x = Column; x < Column + Block; x++) z[(c * Side + y) * Side + x] *= 3;
            }
        }
        var segmenter = new NfaSegmenter(new NfaSegmentationOptions { OutputSize = tiling.TileSize });
        var stitcher = new TileStitcher(Side, Side, withNfa: true);
        var perTile = new Dictionary<ImageTile, float[]>();
        foreach (ImageTile tile in tiling.Tiles(Side, Side))
        {
            var latent = new Tensor(1, Channels, tile.Size, tile.Size);
            for (int c = 0; c < Channels; c++)
            {
                for (int y = 0; y < tile.Size; y++)
                {
                    z.AsSpan((c * Side + tile.Y + y) * Side + tile.X, tile.Size).CopyTo(latent.Span.Slice((c * tile.Size + y) * tile.Size, tile.Size));
                }
            }
            var (negativeLog10Nfa, _, _) = segmenter.Segment([latent], 0);
            perTile[tile] = negativeLog10Nfa;
            stitcher.Add(tile, new float[tile.Size * tile.Size], negativeLog10Nfa);
        }
        Assert.Equal(9, perTile.Count);
        var map = new float[Side * Side];
        var nfa = new float[Side * Side];
        var mask = new bool[Side * Side];
        double offset = Math.Log10(9);
        stitcher.Finish(offset, 0, map, nfa, mask);

        // Found where it was planted, and only there (one pixel of slack for the region's border).
        int found = 0, inside = 0;
        for (int y = 0; y < Side; y++)
        {
            for (int x = 0; x < Side; x++)
            {
                if (!mask[y * Side + x]) continue;
                found++;
                Assert.InRange(y, Row - 1, Row + Block);
                Assert.InRange(x, Column - 1, Column + Block);
                if (y >= Row && y < Row + Block && x >= Column && x < Column + Block) inside++;
            }
        }
        Assert.True(inside >= Block * Block / 2, $"only {inside} of the {Block * Block} planted pixels detected");
        Assert.True(found <= Block * Block + 4 * Block + 4, $"{found} pixels detected");

        // The image's −log10 NFA is the tile's minus log10 9: in the planted block (one tile) and in the top-left corner,
        // which only tile (0, 0) covers.
        float[] bottomRight = perTile[new ImageTile(24, 24, 16)];
        int p = (Row + 2) * Side + Column + 2;
        Assert.Equal(bottomRight[(Row + 2 - 24) * 16 + Column + 2 - 24] - (float)offset, nfa[p], 4);
        Assert.Equal(perTile[new ImageTile(0, 0, 16)][5 * 16 + 3] - (float)offset, nfa[5 * Side + 3], 4);
        Assert.True(nfa[p] > 100, $"the planted block's −log10 NFA is {nfa[p]}");
    }

    [Fact]
    public void Overlaps_take_the_highest_minus_log10_NFA_and_the_mean_map_and_the_offset_decides_detection()
    {
        // A 6x4 image, tiles of 4 at x = 0 and x = 2 (overlap 2): columns 2..3 are covered twice.
        var stitcher = new TileStitcher(6, 4, withNfa: true);
        float[] Plane(float v) => Enumerable.Repeat(v, 16).ToArray();
        stitcher.Add(new ImageTile(0, 0, 4), Plane(0.2f), Plane(0.5f));  // alone: NFA_tile = 10^−0.5 < 1, detected by the tile
        stitcher.Add(new ImageTile(2, 0, 4), Plane(0.6f), Plane(1.0f));  // NFA_tile = 0.1
        var map = new float[24];
        var nfa = new float[24];
        var mask = new bool[24];
        double offset = Math.Log10(4); // as if the image had 4 tiles: 0.602
        stitcher.Finish(offset, 0, map, nfa, mask);
        Assert.Equal(0.2f, map[0], 6);
        Assert.Equal(0.4f, map[2], 6); // the mean of 0.2 and 0.6
        Assert.Equal(0.6f, map[5], 6);
        Assert.Equal(0.5f - (float)offset, nfa[0], 6);
        Assert.Equal(1.0f - (float)offset, nfa[2], 6); // the highest of the two tiles
        Assert.False(mask[0]); // 0.5 − 0.602 < 0: with the other tiles' tests counted, no longer significant
        Assert.True(mask[2]);
        Assert.True(mask[5]);
        // A pixel no tile covers is a bug, not a silent zero.
        var holes = new TileStitcher(6, 4, withNfa: false);
        holes.Add(new ImageTile(0, 0, 4), Plane(0), []);
        Assert.Throws<InvalidOperationException>(() => holes.Finish(0, 0, new float[24], [], []));
    }

    [Fact]
    public void A_tile_map_on_another_grid_is_resampled_to_the_tile_pixels()
    {
        var stitcher = new TileStitcher(8, 8, withNfa: false);
        stitcher.Add(new ImageTile(0, 0, 8), [0f, 1f, 0f, 1f], []); // 2x2 → 8x8, bilinear
        var map = new float[64];
        stitcher.Finish(0, 0, map, [], []);
        var expected = new float[64];
        BilinearResize.Forward([0f, 1f, 0f, 1f], 2, 2, expected, 8, 8);
        Assert.Equal(expected, map);
        Assert.Throws<ArgumentException>(() => stitcher.Add(new ImageTile(0, 0, 8), new float[5], []));
    }
}
