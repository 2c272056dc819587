/**
 * Server-side figures from Redis INFO: memory, CPU, commands executed (including those run
 * inside Lua scripts) and per-command statistics.
 */
import type { Redis } from 'ioredis';

/** Cumulative counters of one command from INFO commandstats. */
export interface CommandStat {
  calls: number;
  usec: number;
}

/** One INFO snapshot. */
export interface RedisSnapshot {
  usedMemory: number;
  /** Main-thread and background CPU seconds (user + sys). */
  cpuSeconds: number;
  /** Commands executed, including the ones Lua scripts call. */
  totalCommands: number;
  netInputBytes: number;
  netOutputBytes: number;
  commandstats: Record<string, CommandStat>;
}

/** The difference of two snapshots, per job where it makes sense. */
export interface RedisCost {
  /** Redis CPU time per job in microseconds. */
  cpuUsPerJob: number;
  /** Commands Redis executed per job (top-level and inside scripts). */
  commandsPerJob: number;
  /** Bytes received plus sent by Redis per job. */
  netBytesPerJob: number;
  /** Per command: calls per job and microseconds per call (only commands with calls). */
  commands: Record<string, { callsPerJob: number; usecPerCall: number; usecPerJob: number }>;
}

function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) map.set(line.slice(0, i), line.slice(i + 1));
  }
  return map;
}

/** Takes a snapshot with one INFO call. */
export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const info = parseInfo(await redis.info('everything'));
  const num = (key: string): number => Number(info.get(key) ?? 'NaN');
  const commandstats: Record<string, CommandStat> = {};
  for (const [key, value] of info) {
    if (!key.startsWith('cmdstat_')) continue;
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    commandstats[key.slice('cmdstat_'.length)] = { calls: Number(fields.calls), usec: Number(fields.usec) };
  }
  return {
    usedMemory: num('used_memory'),
    cpuSeconds: num('used_cpu_user') + num('used_cpu_sys'),
    totalCommands: num('total_commands_processed'),
    netInputBytes: num('total_net_input_bytes'),
    netOutputBytes: num('total_net_output_bytes'),
    commandstats,
  };
}

/** What happened between two snapshots, divided by `jobs`. The INFO calls themselves are excluded. */
export function costBetween(before: RedisSnapshot, after: RedisSnapshot, jobs: number): RedisCost {
  const commands: RedisCost['commands'] = {};
  for (const [name, stat] of Object.entries(after.commandstats)) {
    if (name === 'info') continue;
    const prev = before.commandstats[name] ?? { calls: 0, usec: 0 };
    const calls = stat.calls - prev.calls;
    if (calls <= 0) continue;
    const usec = stat.usec - prev.usec;
    commands[name] = { callsPerJob: calls / jobs, usecPerCall: usec / calls, usecPerJob: usec / jobs };
  }
  return {
    cpuUsPerJob: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / jobs,
    commandsPerJob: (after.totalCommands - before.totalCommands - 1) / jobs,
    netBytesPerJob: (after.netInputBytes - before.netInputBytes + after.netOutputBytes - before.netOutputBytes) / jobs,
    commands,
  };
}

/** Empties the private benchmark server and waits until the memory is given back. */
export async function flushAll(redis: Redis): Promise<void> {
  await redis.flushall('SYNC');
}
