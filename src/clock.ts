/** Source of the current time. Injected everywhere time matters, so tests can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * The `now` a Lua script receives: `''` for the {@link systemClock}, so the script reads the
 * Redis server's clock (`TIME`) and event times, due times and leases all come from that one
 * clock, in the order of the stream ids; an injected clock's reading otherwise (tests).
 */
export function scriptTime(clock: Clock): number | '' {
  return clock === systemClock ? '' : clock.now();
}
