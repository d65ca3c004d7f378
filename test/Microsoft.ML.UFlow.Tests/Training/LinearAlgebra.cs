namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>Dense float64 linear algebra for the brute-force Jacobian checks.</summary>
internal static class LinearAlgebra
{
    /// <summary>log|det A| of a square matrix by LU decomposition with partial pivoting.</summary>
    public static double LogAbsDeterminant(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        Assert.Equal(n, matrix.GetLength(1));
        var a = (double[,])matrix.Clone();
        double logDet = 0;
        for (int k = 0; k < n; k++)
        {
            int pivot = k;
            for (int r = k + 1; r < n; r++)
            {
                if (Math.Abs(a[r, k]) > Math.Abs(a[pivot, k])) pivot = r;
            }
            if (pivot != k)
            {
                for (int c = 0; c < n; c++) (a[k, c], a[pivot, c]) = (a[pivot, c], a[k, c]);
            }
            double d = a[k, k];
            Assert.True(d != 0, "singular Jacobian");
            logDet += Math.Log(Math.Abs(d));
            for (int r = k + 1; r < n; r++)
            {
                double f = a[r, k] / d;
                if (f == 0) continue;
                for (int c = k; c < n; c++) a[r, c] -= f * a[k, c];
            }
        }
        return logDet;
    }
}
