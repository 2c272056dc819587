/**
 * The Sluice Console in a real browser: playwright-core drives Debian's chromium
 * (/usr/bin/chromium, headless, a fresh profile) against the service (started in this process
 * with the built console in dist/ui — `npm run build`) and a worker, on the run's Redis and
 * MongoDB wire-protocol server.
 *
 * It signs in, checks the overview's counts against the API, opens a dead job and finds every
 * attempt's error on its timeline, retries it and watches it complete in the live feed, finds
 * jobs by a payload field and by error text, asks for the queue at a past moment and compares
 * the counts with those the test recorded at that moment, verifies the audit, and signs in with
 * a read-only token: no action buttons, and a forged write is refused. Screenshots of each page
 * go to .sluice/artifacts/console/ (gitignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { MongoPayloadStore } from '../../src/payloads/mongo-store.js';
import { createLogger } from '../../src/server/logger.js';
import { startService, type RunningService } from '../../src/server/serve.js';
import { CONSOLE_DIR } from '../../src/server/console-static.js';
import { dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';
import { dropDatabase, ROOT, testConfig, testDatabase, testEnv, TOKENS } from '../helpers/service.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.sluice', 'artifacts', 'console');
const database = testDatabase();
const queue = testQueueName();
const admin = { authorization: `Bearer ${TOKENS.admin.token}` };

interface JobView {
  id: string;
  state: string;
}

let service: RunningService;
let worker: Worker;
let redis: Redis;
let store: MongoPayloadStore;
let context: BrowserContext;
let profile: string;
let base: string;
/** The poison job succeeds once this is set (before the console retries it). */
let healed = false;
let poisonId: string;
/** A past moment and the counts the test saw then. */
let moment: number;
let countsThen: Record<string, number>;

async function http<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = admin): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const qp = `/v1/queues/${encodeURIComponent(queue)}`;

async function stats(): Promise<{ counts: Record<string, number> }> {
  return http('GET', `${qp}/stats`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/`);
  expect(page.url()).toBe(`${base}/ui/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Queues' }).waitFor();
}

/** A new tab on a console page (`route`, e.g. `search`) of the queue, signed in as admin (the token lives in the tab's sessionStorage). */
async function openPage(route = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/ui/#/q/${encodeURIComponent(queue)}${route === '' ? '' : `/${route}`}`);
  await page.getByLabel('API token').fill(TOKENS.admin.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('header nav a[aria-current="page"]').waitFor();
  return page;
}

/** `datetime-local` text of `ms` in the browser's time zone. */
function localText(page: Page, ms: number): Promise<string> {
  return page.evaluate((t) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 23), ms);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does: apt-get install chromium)`);
  if (!existsSync(join(CONSOLE_DIR, 'index.html'))) throw new Error(`${CONSOLE_DIR} is missing: run npm run build first`);
  mkdirSync(ARTIFACTS, { recursive: true });
  redis = testRedis();
  const config = testConfig(database, {
    SLUICE_HOST: '127.0.0.1',
    SLUICE_PORT: '0',
    SLUICE_TOKENS: JSON.stringify(Object.values(TOKENS)),
  });
  service = await startService(config, { logger: createLogger({ level: 'silent' }) });
  base = service.url;
  store = new MongoPayloadStore({ url: testEnv(database).MONGO_URL, database });
  worker = new Worker(
    queue,
    (job) => {
      const payload = job.payload as { poison?: boolean };
      if (payload.poison && !healed) throw new Error(`poisoned payload, attempt ${job.attempt} of ${job.maxAttempts}`);
      return { ok: true, attempt: job.attempt };
    },
    { connection: redis, payloads: store, concurrency: 4, blockMs: 100, promoteIntervalMs: 50, leaseMs: 5000 },
  );
  worker.on('error', () => undefined);

  for (let n = 1; n <= 5; n++) {
    await http('POST', `${qp}/jobs`, { name: 'invoice', payload: { n, customer: { id: `cust-${n}` } }, opts: { jobId: `inv-${n}` } });
  }
  poisonId = (
    await http<{ id: string }>('POST', `${qp}/jobs`, {
      name: 'invoice',
      payload: { n: 6, poison: true, customer: { id: 'poison-co' } },
      opts: { jobId: 'inv-poison', attempts: 3, backoff: { type: 'fixed', delayMs: 100 } },
    })
  ).id;
  await waitFor(async () => {
    const { counts } = await stats();
    return counts.completed === 5 && counts.dead === 1 ? counts : undefined;
  }, 60_000, '5 completed and 1 dead');
  // Two jobs wait in the paused queue at the moment the time-travel check goes back to; after
  // it, the queue resumes (they complete) and three delayed jobs arrive.
  await http('POST', `${qp}/pause`);
  for (const id of ['report-a', 'report-b']) await http('POST', `${qp}/jobs`, { name: 'report', payload: { id }, opts: { jobId: id } });
  await new Promise((resolve) => setTimeout(resolve, 50));
  moment = Date.now();
  countsThen = (await stats()).counts;
  await new Promise((resolve) => setTimeout(resolve, 50));
  await http('POST', `${qp}/resume`);
  for (let n = 7; n <= 9; n++) {
    await http('POST', `${qp}/jobs`, { name: 'reminder', payload: { n }, opts: { jobId: `rem-${n}`, delayMs: 3_600_000 } });
  }

  profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 900 },
  });
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (profile) rmSync(profile, { recursive: true, force: true });
  await worker?.close(2000).catch(() => undefined);
  await service?.close();
  await store?.close();
  if (redis) {
    await dropQueue(redis, queue);
    redis.disconnect();
  }
  await dropDatabase(database);
});

describe('console', () => {
  it('signs in and shows the queue counts the API reports', async () => {
    const page = await context.newPage();
    await signIn(page, TOKENS.admin.token);
    const row = page.locator(`tr[data-queue="${queue}"]`);
    await row.waitFor();
    const { counts } = await stats();
    for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed', 'dead', 'cancelled']) {
      await expect.poll(() => row.locator(`td[data-state="${state}"]`).textContent(), { timeout: 10_000 }).toBe(String(counts[state] ?? 0));
    }
    expect(counts.delayed).toBe(3);
    await shot(page, 'overview');
    await page.close();
  });

  it('shows every attempt of a dead job on its timeline, retries it and sees it complete in the live feed', async () => {
    const page = await openPage();
    await page.locator('button[data-state="dead"]').click();
    await page.locator(`tr[data-job="${poisonId}"]`).waitFor();
    await shot(page, 'queue-dead');
    await page.locator(`tr[data-job="${poisonId}"] a`).click();
    const failures = page.locator('li[data-type="failed"]');
    await expect.poll(() => failures.count(), { timeout: 10_000 }).toBe(3);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect.poll(() => failures.nth(attempt - 1).textContent()).toContain(`poisoned payload, attempt ${attempt} of 3`);
    }
    expect(await page.locator('li[data-type="claimed"]').count()).toBe(3);
    expect(await page.locator('li[data-type="dead-lettered"]').count()).toBe(1);
    // The stack of each error is on the timeline too.
    expect(await page.locator('li[data-type="failed"] details').count()).toBe(3);
    await shot(page, 'job-dead');
    // The same page on a phone, in the dark scheme.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'job-dead-phone-dark');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });

    const live = await openPage('live');
    await live.locator('p.status[data-status="connected"]').waitFor();

    healed = true;
    await page.getByRole('button', { name: 'Retry' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Retry' }).click();
    await live.locator(`tr[data-type="completed"][data-job="${poisonId}"]`).waitFor({ timeout: 30_000 });
    expect(await live.locator(`tr[data-type="retried"][data-job="${poisonId}"]`).count()).toBe(1);
    await shot(live, 'live');
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 10_000 }).toBe('completed');
    await expect.poll(() => page.locator('li[data-type="retried"]').textContent()).toContain('by admin');
    await shot(page, 'job-retried');
    const job = await http<JobView>('GET', `${qp}/jobs/${poisonId}`);
    expect(job.state).toBe('completed');
    await live.close();
    await page.close();
  });

  it('finds jobs by a payload field and by error text', async () => {
    const page = await openPage('search');
    await page.getByLabel('Payload field').fill('customer.id=poison-co');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.locator('table.results tbody tr');
    await expect.poll(() => results.count(), { timeout: 10_000 }).toBe(1);
    expect(await results.first().getAttribute('data-job')).toBe(poisonId);
    await page.getByLabel('Payload field').fill('n=3');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(async () => (await results.count()) === 1 && (await results.first().getAttribute('data-job')), { timeout: 10_000 }).toBe('inv-3');

    await page.getByLabel('Payload field').fill('');
    await page.getByLabel('Error text').fill('POISONED PAYLOAD');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(async () => (await results.count()) === 1 && (await results.first().getAttribute('data-job')), { timeout: 10_000 }).toBe(poisonId);
    await shot(page, 'search');
    // The same search over HTTP.
    const api = await http<{ jobs: JobView[] }>('GET', `${qp}/jobs/search?payload=${encodeURIComponent('customer.id=cust-2')}`);
    expect(api.jobs.map((j) => j.id)).toEqual(['inv-2']);
    await page.close();
  });

  it('shows the queue as it was at a past moment', async () => {
    const page = await openPage('time-travel');
    await page.getByLabel('Moment (local time)').fill(await localText(page, moment));
    await page.getByRole('button', { name: 'Show' }).click();
    const cells = page.locator('table.asof td');
    await cells.first().waitFor({ timeout: 30_000 });
    for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed', 'dead', 'cancelled']) {
      expect(await page.locator(`table.asof td[data-state="${state}"]`).textContent()).toBe(String(countsThen[state] ?? 0));
    }
    // And the present differs: three delayed reminders, the dead job completed.
    const now = await stats();
    expect(now.counts.delayed).toBe(3);
    expect(countsThen.delayed ?? 0).toBe(0);
    expect(countsThen.dead).toBe(1);
    expect(countsThen.waiting).toBe(2);
    const waitingThen = page.locator('section[aria-label="Waiting then"] li');
    const waitingIds = await Promise.all((await waitingThen.all()).map((li) => li.getAttribute('data-job')));
    expect(waitingIds.sort()).toEqual(['report-a', 'report-b']);
    await shot(page, 'time-travel');
    await page.close();
  });

  it('verifies the audit', async () => {
    const page = await openPage('audit');
    await page.getByRole('button', { name: 'Verify now' }).click();
    await expect.poll(() => page.locator('dl.verify').textContent(), { timeout: 60_000 }).toContain('match the log');
    expect(await page.locator('dl.verify').textContent()).toContain('intact');
    await shot(page, 'audit');
    await page.close();
  });

  it('a read-only token sees no action buttons, and a forged write is refused', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/ui/`);
    await page.evaluate(() => sessionStorage.clear());
    await signIn(page, TOKENS.reader.token);
    await page.locator(`tr[data-queue="${queue}"]`).waitFor();
    expect(await page.getByRole('button', { name: /^(Pause|Resume)/ }).count()).toBe(0);
    await shot(page, 'readonly-overview');

    await page.goto(`${base}/ui/#/q/${encodeURIComponent(queue)}/job/rem-7`);
    await page.locator('li[data-type="created"]').waitFor();
    expect(await page.locator('h1 .badge').textContent()).toBe('delayed');
    for (const name of ['Retry', 'Promote now', 'Cancel', 'Remove', 'Change priority']) expect(await page.getByRole('button', { name }).count()).toBe(0);
    await shot(page, 'readonly-job');

    await page.goto(`${base}/ui/#/q/${encodeURIComponent(queue)}`);
    await page.locator('button[data-state="delayed"]').click();
    await page.locator('tr[data-job="rem-7"]').waitFor();
    expect(await page.getByRole('button', { name: /Cancel selected|Retry all dead|Clean/ }).count()).toBe(0);
    expect(await page.getByRole('checkbox', { name: /Select job/ }).count()).toBe(0);

    // The buttons are hidden, and the API refuses the write anyway.
    const forged = await page.evaluate(async (path) => {
      const token = sessionStorage.getItem('sluice.token') ?? '';
      const response = await fetch(path, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, body: (await response.json()) as { error: { code: string } } };
    }, `${qp}/jobs/rem-7/promote`);
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('SLUICE_ERR_FORBIDDEN');
    expect((await http<JobView>('GET', `${qp}/jobs/rem-7`)).state).toBe('delayed');
    await page.close();
  });

  it('changes the priority of a waiting job from its page and shows it on the timeline', async () => {
    await http('POST', `${qp}/pause`);
    await http('POST', `${qp}/jobs`, { name: 'urgent', payload: { n: 10 }, opts: { jobId: 'prio-1', priority: 1 } });
    const page = await openPage();
    await page.goto(`${base}/ui/#/q/${encodeURIComponent(queue)}/job/prio-1`);
    await page.locator('li[data-type="created"]').waitFor();
    expect(await page.locator('h1 .badge').textContent()).toBe('waiting');
    await page.getByLabel('Priority').selectOption('4');
    await page.getByRole('button', { name: 'Change priority' }).click();
    await expect.poll(() => page.locator('li[data-type="reprioritized"]').textContent(), { timeout: 10_000 }).toContain('priority 1 → 4');
    await expect.poll(() => page.locator('dl.facts dt:text-is("Priority") + dd').textContent()).toBe('4');
    await shot(page, 'job-reprioritized');
    expect((await http<JobView & { priority: number }>('GET', `${qp}/jobs/prio-1`)).priority).toBe(4);
    await http('POST', `${qp}/resume`);
    await expect.poll(() => page.locator('h1 .badge').textContent(), { timeout: 30_000 }).toBe('completed');
    expect(await page.locator('li[data-type="claimed"]').count()).toBe(1);
    await page.close();
  });
});
