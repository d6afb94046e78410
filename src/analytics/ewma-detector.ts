// The plain baseline the seasonal detector is measured against (docs/analytics-evaluation.md): an
// exponentially weighted mean and variance, alerting when a minute's z-score passes a threshold
// for m of the last n minutes. It knows nothing of the time of day. Pure.

export interface EwmaSettings {
  alpha: number;
  z: number;
  m: number;
  n: number;
  /** Smallest standard deviation assumed, so a flat series does not alert on the first change. */
  minSigma: number;
}

export interface EwmaState {
  mean: number;
  variance: number;
  samples: number;
  recent: boolean[];
  open: boolean;
}

export function newEwmaState(): EwmaState {
  return { mean: 0, variance: 0, samples: 0, recent: [], open: false };
}

/** One minute; returns the next state and whether an alert opened at this minute. */
export function stepEwma(settings: EwmaSettings, state: EwmaState, observed: number): { state: EwmaState; opened: boolean } {
  const warm = state.samples >= 1 / settings.alpha;
  const sigma = Math.max(Math.sqrt(state.variance), settings.minSigma);
  const outside = warm && Math.abs(observed - state.mean) / sigma > settings.z;
  const recent = [...state.recent, outside].slice(-settings.n);
  const count = recent.filter(Boolean).length;
  const delta = observed - state.mean;
  const alpha = state.samples === 0 ? 1 : settings.alpha;
  // Like the seasonal detector's fallback, it learns from normal minutes only.
  const next: EwmaState = outside ? { ...state, recent } : {
    mean: state.mean + alpha * delta,
    variance: state.samples === 0 ? 0 : (1 - settings.alpha) * (state.variance + settings.alpha * delta * delta),
    samples: state.samples + 1,
    recent,
    open: state.open,
  };
  next.open = state.open ? count > 0 : count >= settings.m;
  return { state: next, opened: !state.open && next.open };
}
