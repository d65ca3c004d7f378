namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Streaming trapezoidal integral of PRO over FPR from 0 to a limit, exactly as the MVTec AD official
/// <c>trapezoid(x, y, x_max)</c>: points arrive in non-decreasing FPR order starting after (0, 0); segments entirely
/// at or below the limit are added whole; the segment crossing the limit is cut at the limit with PRO linearly
/// interpolated there.
/// </summary>
internal struct ProCurveIntegrator
{
    private readonly double _limit;
    private double _previousFpr;
    private double _previousPro;
    private double _area;
    private bool _done;

    public ProCurveIntegrator(double limit)
    {
        _limit = limit;
    }

    public void AddPoint(double fpr, double pro)
    {
        if (_done) return;
        if (fpr <= _limit)
        {
            _area += 0.5 * (pro + _previousPro) * (fpr - _previousFpr);
            _previousFpr = fpr;
            _previousPro = pro;
            return;
        }
        double proAtLimit = _previousPro + (pro - _previousPro) * (_limit - _previousFpr) / (fpr - _previousFpr);
        _area += 0.5 * (proAtLimit + _previousPro) * (_limit - _previousFpr);
        _done = true;
    }

    /// <summary>The area up to the limit (the curve ends at FPR 1, so the limit is always reached).</summary>
    public readonly double Area => _area;
}
