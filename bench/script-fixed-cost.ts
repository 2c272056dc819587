/**
 * What one script call costs Redis before it does any work: the generated publish script called
 * with no job, against the same script stopped before it builds its key table (what is left:
 * defining its local functions and constant tables), stopped right after it, and `return 1`
 * with the same KEYS (the EVALSHA itself and the argument conversion):
 *
 *   npx tsx bench/script-fixed-cost.ts [--calls=2000] [--reps=3]
 *
 * Starts a private redis-server (no persistence). Prints µs per call from INFO commandstats
 * (best of `reps` rounds of `calls` sequential calls). The difference is paid once per script
 * call: spread over the jobs of a batch it vanishes, for a single-job publish, claim or
 * complete it is on the latency path.
 */
import { Redis } from 'ioredis';
import { flattenScriptKeys, scriptKeyMap, toQueueName } from '../src/core/keys.js';
import { SCRIPTS, SCRIPT_KEYS } from '../src/events/lua/generated.js';
import { RedisServer } from '../src/services/redis-server.js';

const option = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const calls = option('calls', 2000);
const reps = option('reps', 3);

/** The body cut by `return 1` just before `marker` (which must occur once). */
function stoppedBefore(body: string, marker: string): string {
  const at = body.indexOf(marker);
  if (at < 0 || body.indexOf(marker, at + 1) >= 0) throw new Error(`marker not found once: ${marker}`);
  return `${body.slice(0, at)}do return 1 end\n${body.slice(at)}`;
}

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  try {
    const queue = toQueueName('fixed-cost');
    const keys = flattenScriptKeys(scriptKeyMap(queue), SCRIPT_KEYS.publish.keys);
    const body = SCRIPTS.publish;
    const variants: [string, string][] = [
      ['publish, no job', body],
      ['stopped after the key table', stoppedBefore(body, 'local n = tonumber(ARGV[3])\n')],
      ['stopped before the key table', stoppedBefore(body, 'local K = sluiceKeys()\n')],
      [`return 1 with the same ${keys.length} keys`, 'return 1'],
    ];
    console.log(`µs of Redis per call (best of ${reps} × ${calls} calls); the publish script is ${body.length.toLocaleString('en-US')} characters`);
    for (const [name, source] of variants) {
      const sha = (await redis.script('LOAD', source)) as string;
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < reps; round++) {
        await redis.config('RESETSTAT');
        // 's0': the server clock, as the library passes it; 0 jobs.
        for (let i = 0; i < calls; i++) await redis.evalsha(sha, keys.length, ...keys, 's0', queue, '0');
        const info = await redis.info('commandstats');
        best = Math.min(best, Number(/cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(info)?.[1]));
      }
      console.log(`  ${name.padEnd(34)} ${best.toFixed(1)}`);
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();
