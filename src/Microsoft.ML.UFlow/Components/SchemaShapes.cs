using Microsoft.ML.Data;
using static Microsoft.ML.SchemaShape.Column;

namespace Microsoft.ML.UFlow;

/// <summary>
/// Builds <see cref="SchemaShape.Column"/>s for estimators' <c>GetOutputSchema</c>. ML.NET keeps the column constructor
/// internal (its own estimators call it directly), so it is reached by reflection on the pinned Microsoft.ML version; a
/// test checks that it still exists.
/// </summary>
internal static class SchemaShapes
{
    private static readonly System.Reflection.ConstructorInfo s_columnConstructor =
        typeof(SchemaShape.Column).GetConstructor(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null,
            [typeof(string), typeof(VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)], null)
        ?? throw new MissingMethodException("SchemaShape.Column's constructor (string, VectorKind, DataViewType, bool, SchemaShape) was not found: this Microsoft.ML version is not supported.");

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public static SchemaShape.Column? Find(SchemaShape shape, string name)
    {
        foreach (var column in shape)
        {
            if (column.Name == name) return column;
        }
        return null;
    }

    public static SchemaShape.Column FloatVector(string name) => Make(name, VectorKind.Vector, NumberDataViewType.Single);

    public static SchemaShape.Column Float(string name) => Make(name, VectorKind.Scalar, NumberDataViewType.Single);

    public static SchemaShape.Column Boolean(string name) => Make(name, VectorKind.Scalar, BooleanDataViewType.Instance);

    public static SchemaShape.Column BooleanVector(string name) => Make(name, VectorKind.Vector, BooleanDataViewType.Instance);

    private static SchemaShape.Column Make(string name, VectorKind kind, DataViewType itemType) =>
        (SchemaShape.Column)s_columnConstructor.Invoke([name, kind, itemType, false, null]);
}
