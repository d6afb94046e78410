// Generated per-minute message counts for the anomaly evaluation: daily seasonality, Poisson
// noise and a normal daily burst, with spikes (x2.5) and drops (x0.3) of 5-30 minutes injected
// at random times. Seeded, so every run yields the same series.
import { poisson, randomInt, seededRandom } from './prng.ts';

export const MINUTES_PER_DAY = 1440;
export const SPIKE_FACTOR = 2.5;
export const DROP_FACTOR = 0.3;
/** The normal burst: every day at 09:00 for 20 minutes, twice the usual rate (a morning digest). */
const BURST_START = 9 * 60;
const BURST_MINUTES = 20;
const BURST_FACTOR = 2;

export interface Injection {
  start: number;
  end: number;
  kind: 'spike' | 'drop';
}

export interface SyntheticSeries {
  clean: number[];
  injected: number[];
  injections: Injection[];
}

export interface SeriesOptions {
  days: number;
  /** Mean messages per minute over the day. */
  baseRate: number;
  /** Anomalies per day, injected from firstInjectedDay on. */
  perDay: number;
  firstInjectedDay: number;
  seed: number;
}

function expectedRate(minute: number, baseRate: number, phase: number): number {
  const ofDay = minute % MINUTES_PER_DAY;
  const seasonal = 1 + 0.6 * Math.sin((2 * Math.PI * (ofDay - phase)) / MINUTES_PER_DAY);
  const burst = ofDay >= BURST_START && ofDay < BURST_START + BURST_MINUTES ? BURST_FACTOR : 1;
  return baseRate * seasonal * burst;
}

export function generateSeries(options: SeriesOptions): SyntheticSeries {
  const random = seededRandom(options.seed);
  const phase = randomInt(random, 0, MINUTES_PER_DAY - 1);
  const total = options.days * MINUTES_PER_DAY;
  const rates = Array.from({ length: total }, (_, minute) => expectedRate(minute, options.baseRate, phase));
  const noise = rates.map(() => random());
  const injections: Injection[] = [];
  for (let day = options.firstInjectedDay; day < options.days; day++) {
    // One slot per anomaly, so they never overlap and each has normal minutes around it.
    const slot = Math.floor(MINUTES_PER_DAY / options.perDay);
    for (let i = 0; i < options.perDay; i++) {
      const length = randomInt(random, 5, 30);
      const start = day * MINUTES_PER_DAY + i * slot + randomInt(random, 30, slot - length - 30);
      injections.push({ start, end: start + length, kind: random() < 0.5 ? 'spike' : 'drop' });
    }
  }
  const draw = (rate: number, u: number) => poisson(seededRandom(Math.floor(u * 2 ** 32)), rate);
  const clean = rates.map((rate, minute) => draw(rate, noise[minute]!));
  const injectedRates = [...rates];
  for (const injection of injections) {
    for (let m = injection.start; m < injection.end; m++) injectedRates[m]! *= injection.kind === 'spike' ? SPIKE_FACTOR : DROP_FACTOR;
  }
  const injected = injectedRates.map((rate, minute) => (rate === rates[minute] ? clean[minute]! : draw(rate, noise[minute]!)));
  return { clean, injected, injections };
}
