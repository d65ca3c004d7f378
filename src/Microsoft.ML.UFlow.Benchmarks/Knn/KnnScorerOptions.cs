namespace Microsoft.ML.UFlow.Benchmarks.Knn;

/// <summary>The settings of <see cref="KnnScorer"/>.</summary>
/// <param name="Pool">Side of the average pooling of the features before the search (1 = none; PatchCore: 3).</param>
/// <param name="BankFraction">Share of each normal training image's positions kept in each scale's bank, in (0, 1].</param>
/// <param name="Sigma">Standard deviation, in map pixels, of the Gaussian smoothing of the map (0 = none; PatchCore: 4).</param>
/// <param name="Seed">Seed of the bank's random subsample.</param>
/// <param name="OutputSize">The map grid's side S (its shorter side for a rectangular input, <see cref="Scoring.MapGrid"/>).</param>
/// <param name="Chunk">Bank vectors per matrix product of the search.</param>
internal sealed record KnnScorerOptions(int Pool = 3, double BankFraction = KnnBenchCommand.DefaultBankFraction, double Sigma = 4, int Seed = 0, int OutputSize = 256, int Chunk = MemoryBank.DefaultChunk)
{
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range.</exception>
    public void Validate()
    {
        if (Pool < 1 || Pool % 2 == 0) throw new ArgumentOutOfRangeException(nameof(Pool), Pool, "--pool must be a positive odd number (1 = no pooling).");
        if (!(BankFraction > 0 && BankFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(BankFraction), BankFraction, "--bank-fraction must be in (0, 1].");
        if (!(Sigma >= 0) || double.IsInfinity(Sigma)) throw new ArgumentOutOfRangeException(nameof(Sigma), Sigma, "--sigma must be 0 (no smoothing) or a positive number of map pixels.");
        if (OutputSize < 1) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "The map size must be positive.");
        if (Chunk < 1) throw new ArgumentOutOfRangeException(nameof(Chunk), Chunk, "--chunk must be positive.");
    }
}
