/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and aggregates self time by function
 * and by component (Sluice's src, ioredis, Node internals, GC, idle...).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function (or component). */
export interface SelfTime {
  name: string;
  selfMs: number;
  /** Share of the busy (non-idle) time, in percent. */
  busyPct: number;
}

/** What {@link summarizeProfile} returns. */
export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  idleMs: number;
  functions: SelfTime[];
  components: SelfTime[];
}

function component(url: string, functionName: string): string {
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (idle), (program), (garbage collector)
    return 'V8 builtins / native';
  }
  if (url.startsWith('node:')) return 'Node internals';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.includes('/src/')) return `sluice ${/\/src\/(.*)$/.exec(url)?.[1] ?? url}`;
  if (url.includes('/bench/')) return 'bench harness';
  return 'other';
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const s = url.indexOf('/src/');
  if (s >= 0) return url.slice(s + 1);
  return url.replace(/^file:\/\//, '');
}

/** Aggregates a profile file; `top` limits the function list. */
export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i lasts until sample i + 1 (the DevTools convention).
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + duration);
  }
  const functions = new Map<string, number>();
  const components = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = url === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const c = component(url, functionName);
    components.set(c, (components.get(c) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const list = (map: Map<string, number>, limit: number): SelfTime[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, selfMs: us / 1000, busyPct: (100 * us) / busyUs }));
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: list(functions, top),
    components: list(components, 20),
  };
}
