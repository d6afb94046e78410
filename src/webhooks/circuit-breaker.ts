// The circuit breaker of one webhook endpoint, from cockatiel. It opens after `failures`
// consecutive failed deliveries, or when at least half of the last FAILURE_RATE_WINDOW attempts
// failed (at least FAILURE_RATE_MIN_CALLS of them): a receiver that fails every other request is
// as broken as one that fails them all. Open, it lets nothing through; after a cool-down that
// grows exponentially (from cooldownMs up to COOLDOWN_MAX_FACTOR times it) it half-opens and lets
// one probe through, which closes it on success and opens it again on failure.
import {
  circuitBreaker, ConsecutiveBreaker, CountBreaker, ExponentialBackoff, handleType, type CircuitBreakerPolicy, type IBreaker,
  CircuitState, noJitterGenerator,
} from 'cockatiel';
import { WebhookDeliveryError } from './webhook-sender.ts';

/** Attempts the failure rate is measured over. */
const FAILURE_RATE_WINDOW = 20;
const FAILURE_RATE_MIN_CALLS = 10;
const FAILURE_RATE_THRESHOLD = 0.5;
/** The cool-down stops growing at this multiple of the first one. */
const COOLDOWN_MAX_FACTOR = 60;

/** Opens when either breaker would: consecutive failures, or the failure rate. */
class EitherBreaker implements IBreaker {
  readonly #breakers: IBreaker[];
  constructor(...breakers: IBreaker[]) {
    this.#breakers = breakers;
  }
  get state(): unknown {
    return this.#breakers.map((b) => b.state);
  }
  set state(value: unknown) {
    (value as unknown[]).forEach((s, i) => (this.#breakers[i]!.state = s));
  }
  success(state: CircuitState): void {
    for (const b of this.#breakers) b.success(state);
  }
  failure(state: CircuitState): boolean {
    return this.#breakers.map((b) => b.failure(state)).some(Boolean); // every breaker counts the failure
  }
}

export interface BreakerSettings {
  failures: number;
  cooldownMs: number;
}

export function createEndpointBreaker(s: BreakerSettings): CircuitBreakerPolicy {
  return circuitBreaker(handleType(WebhookDeliveryError), {
    breaker: new EitherBreaker(
      new ConsecutiveBreaker(s.failures),
      new CountBreaker({ threshold: FAILURE_RATE_THRESHOLD, size: FAILURE_RATE_WINDOW, minimumNumberOfCalls: FAILURE_RATE_MIN_CALLS }),
    ),
    // No jitter: the cool-downs are what the README says (cooldownMs, then twice, four times...).
    halfOpenAfter: new ExponentialBackoff({ generator: noJitterGenerator, initialDelay: s.cooldownMs, maxDelay: s.cooldownMs * COOLDOWN_MAX_FACTOR }),
  });
}

export { CircuitState };
