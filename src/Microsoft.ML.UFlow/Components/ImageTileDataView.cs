using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.UFlow;

/// <summary>
/// The tiles of image files as rows (<see cref="ImageTileData.Load"/>): <c>ImagePath</c> (the source file), <c>TileX</c>,
/// <c>TileY</c> (Int32, the tile's top-left corner) and <c>Image</c> (an <c>MLImage</c> of the tile size). Tiles are cut
/// when a cursor reaches them, from the source decoded by <c>MLImage.CreateFromFile</c> as ML.NET's <c>LoadImages</c> does,
/// so a training set of many tiles never sits in memory; each tile image is disposed when the cursor moves on.
/// </summary>
internal sealed class ImageTileDataView : IDataView
{
    private readonly (string Path, ImageTile Tile)[] _rows;
    private readonly int _tileSize;

    public ImageTileDataView(IEnumerable<string> imagePaths, ImageTiling tiling)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(tiling);
        _tileSize = tiling.TileSize;
        var rows = new List<(string, ImageTile)>();
        foreach (string path in imagePaths)
        {
            var (width, height) = SizeOf(path);
            tiling.RequireFits(width, height, $"The image '{path}'");
            rows.AddRange(tiling.Tiles(width, height).Select(t => (path, t)));
        }
        _rows = rows.ToArray();
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(AnomalyColumns.ImagePath, TextDataViewType.Instance);
        builder.AddColumn(ImageTileData.TileX, NumberDataViewType.Int32);
        builder.AddColumn(ImageTileData.TileY, NumberDataViewType.Int32);
        builder.AddColumn(AnomalyColumns.Image, new ImageDataViewType(tiling.TileSize, tiling.TileSize));
        Schema = builder.ToSchema();
    }

    /// <summary>The last tile (the bottom-right one of the last image), or null without rows.</summary>
    public ImageTile? Last => _rows.Length == 0 ? null : _rows[^1].Tile;

    /// <inheritdoc/>
    public bool CanShuffle => false;

    /// <inheritdoc/>
    public DataViewSchema Schema { get; }

    /// <inheritdoc/>
    public long? GetRowCount() => _rows.Length;

    /// <inheritdoc/>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this, columnsNeeded);

    /// <inheritdoc/>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [GetRowCursor(columnsNeeded, rand)];

    // The header only: sizes are checked before anything is decoded.
    private static (int Width, int Height) SizeOf(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The image '{path}' does not exist.", path);
        return Imaging.ImageDecoder.ReadSize(path);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ImageTileDataView _view;
        private readonly bool[] _active;
        private long _position = -1;
        private string? _sourcePath;
        private MLImage? _source, _tile;

        public Cursor(ImageTileDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _view = view;
            _active = new bool[view.Schema.Count];
            foreach (var column in columnsNeeded) _active[column.Index] = true;
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool MoveNext()
        {
            _tile?.Dispose();
            _tile = null;
            if (_position + 1 >= _view._rows.Length)
            {
                _position = _view._rows.Length;
                return false;
            }
            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            Delegate getter = column.Name switch
            {
                AnomalyColumns.ImagePath => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.Path.AsMemory()),
                ImageTileData.TileX => (ValueGetter<int>)((ref int v) => v = Current.Tile.X),
                ImageTileData.TileY => (ValueGetter<int>)((ref int v) => v = Current.Tile.Y),
                _ => (ValueGetter<MLImage>)((ref MLImage v) => v = Tile()),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' of the tile rows is {column.Type}, not {typeof(TValue).Name}.");
        }

        private (string Path, ImageTile Tile) Current => _view._rows[_position];

        private MLImage Tile()
        {
            if (_tile is not null) return _tile;
            var (path, tile) = Current;
            if (_sourcePath != path)
            {
                _source?.Dispose();
                _source = null;
                _source = MLImage.CreateFromFile(path);
                _sourcePath = path;
            }
            _tile = ImageTileData.Crop(_source!, tile);
            return _tile;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _tile?.Dispose();
                _source?.Dispose();
                _tile = _source = null;
            }
            base.Dispose(disposing);
        }
    }
}
