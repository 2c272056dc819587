/** Source of the current time. Injected everywhere time matters, so tests can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * What a Lua script receives as `now`: an injected clock's reading (a number), or for the system
 * clock `s<ms>`: the script then takes the Redis server's clock (`TIME`), and the caller's ms
 * only when the Redis user may not run `TIME` (an ACL without it).
 */
export type ScriptTime = number | `s${number}`;

/**
 * The `now` a Lua script receives (see {@link ScriptTime}): with the {@link systemClock}, event
 * times, due times and leases all come from the Redis server's clock, in the order of the
 * stream ids; an injected clock (tests) drives the scripts itself.
 */
export function scriptTime(clock: Clock): ScriptTime {
  return clock === systemClock ? `s${Date.now()}` : clock.now();
}
