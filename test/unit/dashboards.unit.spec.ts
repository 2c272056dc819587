/**
 * The Grafana dashboards against Grafana's published schema types (@grafana/schema), plus the
 * structural rules Grafana relies on. The validator's field lists are typed by the schema:
 * `Shape<T>` must name every field of the schema interface T with the right required/optional
 * flag, so a field added, removed or made required in @grafana/schema fails typecheck here, and
 * any key in the JSON that the schema does not define fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DashboardCursorSync,
  FieldColorModeId,
  MappingType,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  type AnnotationContainer,
  type AnnotationQuery,
  type Dashboard,
  type DashboardLink,
  type DashboardLinkType,
  type DataSourceRef,
  type DataTransformerConfig,
  type FieldColor,
  type FieldConfig,
  type FieldConfigSource,
  type GridPos,
  type Panel,
  type RowPanel,
  type Threshold,
  type ThresholdsConfig,
  type TimePickerConfig,
  type ValueMap,
  type VariableModel,
  type VariableOption,
  type VariableType,
} from '@grafana/schema';
import { dashboardQueries } from '../helpers/prometheus.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dashboardsDir = join(root, 'grafana', 'dashboards');

// ---- a small validator whose shapes are typed by @grafana/schema ----------------------------

type Check = (value: unknown, path: string, errors: string[]) => void;
interface Field<Required extends boolean> {
  readonly required: Required;
  readonly check: Check;
}
/** Every field of T, flagged required exactly when the schema requires it. */
type Shape<T> = { readonly [K in keyof T]-?: Field<Record<never, never> extends Pick<T, K> ? false : true> };

const req = (check: Check): Field<true> => ({ required: true, check });
const opt = (check: Check): Field<false> => ({ required: false, check });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (errors: string[], path: string, message: string, value: unknown): void => {
  errors.push(`${path}: ${message}, got ${JSON.stringify(value)?.slice(0, 80)}`);
};
const str: Check = (v, p, e) => (typeof v === 'string' ? undefined : fail(e, p, 'must be a string', v));
const num: Check = (v, p, e) => (typeof v === 'number' && Number.isFinite(v) ? undefined : fail(e, p, 'must be a number', v));
const int: Check = (v, p, e) => (Number.isInteger(v) ? undefined : fail(e, p, 'must be an integer', v));
const bool: Check = (v, p, e) => (typeof v === 'boolean' ? undefined : fail(e, p, 'must be a boolean', v));
const record: Check = (v, p, e) => (isRecord(v) ? undefined : fail(e, p, 'must be an object', v));
const unknownValue: Check = () => undefined;
const nullable =
  (check: Check): Check =>
  (v, p, e) =>
    v === null ? undefined : check(v, p, e);
const either =
  (a: Check, b: Check): Check =>
  (v, p, e) => {
    const first: string[] = [];
    a(v, p, first);
    if (first.length === 0) return;
    const second: string[] = [];
    b(v, p, second);
    if (second.length > 0) e.push(...first);
  };
const oneOf =
  (values: readonly unknown[]): Check =>
  (v, p, e) =>
    values.includes(v) ? undefined : fail(e, p, `must be one of ${JSON.stringify(values)}`, v);
/** The keys of a Record over a union type: the compiler checks the list is exactly the union. */
const keysOf = <T extends string>(all: Record<T, true>): T[] => Object.keys(all) as T[];
const enumValues = (e: Record<string, string | number>): (string | number)[] =>
  Object.values(e).filter((x) => typeof x === 'number' || !(x in e) || typeof e[x] !== 'number');
const arrayOf =
  (check: Check): Check =>
  (v, p, e) => {
    if (!Array.isArray(v)) return fail(e, p, 'must be an array', v);
    v.forEach((item: unknown, i) => check(item, `${p}[${i}]`, e));
  };
const object =
  <T>(name: string, shape: Shape<T>): Check =>
  (v, p, e) => {
    if (!isRecord(v)) return fail(e, p, `must be an object (${name})`, v);
    const fields = shape as Record<string, Field<boolean>>;
    for (const [key, field] of Object.entries(fields)) {
      if (field.required && !(key in v)) e.push(`${p}.${key}: required by ${name}`);
    }
    for (const [key, value] of Object.entries(v)) {
      const field = fields[key];
      if (!field) e.push(`${p}.${key}: not a field of ${name} in @grafana/schema`);
      else field.check(value, `${p}.${key}`, e);
    }
  };

// ---- the schema's shapes ----------------------------------------------------------------------

const dataSourceRef = object<DataSourceRef>('DataSourceRef', { apiVersion: opt(str), type: opt(str), uid: opt(str) });
const gridPos = object<GridPos>('GridPos', { h: req(int), w: req(int), x: req(int), y: req(int), static: opt(bool) });
const stringOrStrings = either(str, arrayOf(str));
const variableOption = object<VariableOption>('VariableOption', {
  properties: opt(record),
  selected: opt(bool),
  text: req(stringOrStrings),
  value: req(stringOrStrings),
});
const emptyOrOption: Check = (v, p, e) => (isRecord(v) && Object.keys(v).length === 0 ? undefined : variableOption(v, p, e));
const variableTypes = keysOf<VariableType>({
  query: true,
  adhoc: true,
  groupby: true,
  constant: true,
  datasource: true,
  interval: true,
  textbox: true,
  custom: true,
  system: true,
  snapshot: true,
  switch: true,
});
const variableModel = object<VariableModel>('VariableModel', {
  allValue: opt(str),
  allowCustomValue: opt(bool),
  // Grafana writes `current: {}` for a variable not resolved yet.
  current: opt(emptyOrOption),
  datasource: opt(nullable(dataSourceRef)),
  description: opt(str),
  enableGroupBy: opt(bool),
  hide: opt(oneOf(enumValues(VariableHide))),
  includeAll: opt(bool),
  label: opt(str),
  multi: opt(bool),
  name: req(str),
  options: opt(arrayOf(variableOption)),
  query: opt(either(str, record)),
  refresh: opt(oneOf(enumValues(VariableRefresh))),
  regex: opt(str),
  regexApplyTo: opt(oneOf(['value', 'text'])),
  skipUrlSync: opt(bool),
  sort: opt(oneOf(enumValues(VariableSort))),
  staticOptions: opt(arrayOf(variableOption)),
  staticOptionsOrder: opt(oneOf(['before', 'after', 'sorted'])),
  type: req(oneOf(variableTypes)),
  valuesFormat: opt(oneOf(['csv', 'json'])),
});
const annotationQuery = object<AnnotationQuery>('AnnotationQuery', {
  builtIn: opt(num),
  datasource: opt(nullable(dataSourceRef)),
  enable: req(bool),
  filter: opt(record),
  hide: opt(bool),
  iconColor: req(str),
  name: req(str),
  placement: opt(oneOf(['inControlsMenu'])),
  target: opt(record),
  type: opt(str),
  snapshotData: opt(unknownValue),
});
const annotationContainer = object<AnnotationContainer>('AnnotationContainer', { list: opt(arrayOf(annotationQuery)) });
const dashboardLink = object<DashboardLink>('DashboardLink', {
  asDropdown: req(bool),
  icon: req(str),
  includeVars: req(bool),
  keepTime: req(bool),
  origin: opt(record),
  placement: opt(oneOf(['inControlsMenu'])),
  tags: req(arrayOf(str)),
  targetBlank: req(bool),
  title: req(str),
  tooltip: req(str),
  type: req(oneOf(keysOf<DashboardLinkType>({ link: true, dashboards: true }))),
  url: opt(str),
});
const timePicker = object<TimePickerConfig>('TimePickerConfig', {
  hidden: opt(bool),
  nowDelay: opt(str),
  quick_ranges: opt(arrayOf(record)),
  refresh_intervals: opt(arrayOf(str)),
});
const threshold = object<Threshold>('Threshold', { color: req(str), value: req(nullable(num)), valueExpr: opt(str) });
const thresholds = object<ThresholdsConfig>('ThresholdsConfig', {
  mode: req(oneOf(enumValues(ThresholdsMode))),
  steps: req(arrayOf(threshold)),
});
const valueMap = object<ValueMap>('ValueMap', { options: req(record), type: req(oneOf([MappingType.ValueToText])) });
const fieldColor = object<FieldColor>('FieldColor', {
  fixedColor: opt(str),
  mode: req(oneOf(enumValues(FieldColorModeId))),
  seriesBy: opt(oneOf(['min', 'max', 'last'])),
});
const fieldConfig = object<FieldConfig>('FieldConfig', {
  actions: opt(arrayOf(record)),
  color: opt(fieldColor),
  custom: opt(record),
  decimals: opt(num),
  description: opt(str),
  displayName: opt(str),
  displayNameFromDS: opt(str),
  filterable: opt(bool),
  links: opt(arrayOf(unknownValue)),
  // Only value maps are used here; the other mapping kinds would need their own shapes.
  mappings: opt(arrayOf(valueMap)),
  max: opt(num),
  min: opt(num),
  noValue: opt(str),
  path: opt(str),
  thresholds: opt(thresholds),
  unit: opt(str),
  writeable: opt(bool),
});
const fieldConfigSource = object<FieldConfigSource>('FieldConfigSource', {
  defaults: req(fieldConfig),
  overrides: req(arrayOf(record)),
});
const transformation = object<DataTransformerConfig>('DataTransformerConfig', {
  disabled: opt(bool),
  filter: opt(record),
  id: req(str),
  options: req(unknownValue),
  topic: opt(oneOf(['series', 'annotations', 'alertStates'])),
});
const panel = object<Panel>('Panel', {
  autoMigrateFrom: opt(str),
  cacheTimeout: opt(str),
  datasource: opt(dataSourceRef),
  description: opt(str),
  fieldConfig: opt(fieldConfigSource),
  gridPos: opt(gridPos),
  hideTimeOverride: opt(bool),
  id: opt(int),
  interval: opt(str),
  libraryPanel: opt(record),
  links: opt(arrayOf(record)),
  maxDataPoints: opt(num),
  maxPerRow: opt(num),
  options: opt(record),
  pluginVersion: opt(str),
  queryCachingTTL: opt(num),
  repeat: opt(str),
  repeatDirection: opt(oneOf(['h', 'v'])),
  targets: opt(arrayOf(record)),
  timeCompare: opt(str),
  timeFrom: opt(str),
  timeShift: opt(str),
  title: opt(str),
  transformations: opt(arrayOf(transformation)),
  transparent: opt(bool),
  type: req(str),
});
const rowPanel = object<RowPanel>('RowPanel', {
  collapsed: req(bool),
  datasource: opt(dataSourceRef),
  gridPos: opt(gridPos),
  id: req(int),
  panels: req(arrayOf(panel)),
  repeat: opt(str),
  title: opt(str),
  type: req(oneOf(['row'])),
});
const anyPanel: Check = (v, p, e) => (isRecord(v) && v.type === 'row' ? rowPanel(v, p, e) : panel(v, p, e));
const dashboardShape = object<Dashboard>('Dashboard', {
  annotations: opt(annotationContainer),
  description: opt(str),
  editable: opt(bool),
  fiscalYearStartMonth: opt(int),
  gnetId: opt(num),
  graphTooltip: opt(oneOf(enumValues(DashboardCursorSync))),
  id: opt(nullable(num)),
  links: opt(arrayOf(dashboardLink)),
  liveNow: opt(bool),
  panels: opt(arrayOf(anyPanel)),
  preload: opt(bool),
  refresh: opt(str),
  revision: opt(num),
  schemaVersion: req(int),
  snapshot: opt(record),
  tags: opt(arrayOf(str)),
  templating: opt(object<NonNullable<Dashboard['templating']>>('templating', { list: opt(arrayOf(variableModel)) })),
  time: opt(object<NonNullable<Dashboard['time']>>('time', { from: req(str), to: req(str) })),
  timepicker: opt(timePicker),
  timezone: opt(str),
  title: opt(str),
  uid: opt(str),
  version: opt(num),
  weekStart: opt(str),
});

/** Validates `value` as a Grafana dashboard and narrows it. */
function validateDashboard(value: unknown): { dashboard: Dashboard; errors: string[] } {
  const errors: string[] = [];
  dashboardShape(value, '$', errors);
  return { dashboard: value as Dashboard, errors };
}

// ---- the tests -------------------------------------------------------------------------------

const files = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'));
const load = (file: string): unknown => JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as unknown;
const builtIns = new Set(['__rate_interval', '__interval', '__range', '__range_s', '__interval_ms']);

describe('the validator', () => {
  it('rejects what the schema does not allow', () => {
    expect(validateDashboard({ title: 'x' }).errors).toEqual(['$.schemaVersion: required by Dashboard']);
    expect(validateDashboard({ schemaVersion: 39, pannels: [] }).errors).toEqual(['$.pannels: not a field of Dashboard in @grafana/schema']);
    const bad = validateDashboard({
      schemaVersion: 39,
      panels: [{ type: 'stat', gridPos: { h: 1, w: 'wide', x: 0, y: 0 } }, { type: 'row', id: 2, panels: [] }],
      templating: { list: [{ name: 'q', type: 'nonsense' }] },
    }).errors;
    expect(bad).toHaveLength(3);
    expect(bad.join('\n')).toMatch(/gridPos\.w: must be an integer/);
    expect(bad.join('\n')).toMatch(/panels\[1\]\.collapsed: required by RowPanel/);
    expect(bad.join('\n')).toMatch(/list\[0\]\.type: must be one of/);
  });
});

describe.each(files)('dashboard %s', (file) => {
  const { dashboard, errors } = validateDashboard(load(file));
  const panels = (dashboard.panels ?? []).flatMap((p): (Panel | RowPanel)[] => (p.type === 'row' ? [p, ...(p as RowPanel).panels] : [p]));
  const variables = dashboard.templating?.list ?? [];

  it('validates against the @grafana/schema dashboard types', () => {
    expect(errors).toEqual([]);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{8,40}$/);
    expect(dashboard.title).toMatch(/^Sluice/);
  });

  it('lays panels out on the 24-column grid without overlaps, with unique ids', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = panels.map((p) => ({ title: p.title, ...(p.gridPos as GridPos) }));
    for (const box of boxes) {
      expect(box.x + box.w, box.title).toBeLessThanOrEqual(24);
      expect(box.w * box.h, box.title).toBeGreaterThan(0);
    }
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false);
      }
    }
  });

  it('queries Prometheus through the datasource variable, with unique refIds and an expression per target', () => {
    const datasourceVar = variables.find((v) => v.type === 'datasource');
    expect(datasourceVar?.name).toBe('datasource');
    expect(datasourceVar?.query).toBe('prometheus');
    for (const p of panels) {
      if (p.type === 'row') continue;
      const q = p as Panel;
      expect(['timeseries', 'stat', 'table']).toContain(q.type);
      expect(q.datasource, q.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const targets = q.targets ?? [];
      expect(targets.length, q.title).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size).toBe(targets.length);
      for (const t of targets) {
        expect(t.datasource).toEqual(q.datasource);
        expect(typeof t.expr === 'string' && t.expr.trim().length > 0, q.title).toBe(true);
      }
    }
  });

  it('uses only variables it defines (or Grafana built-ins)', () => {
    const defined = new Set(variables.map((v) => v.name));
    for (const query of dashboardQueries(dashboard)) {
      for (const [, a, b] of query.expr.matchAll(/\$\{?(\w+)|\[\[(\w+)\]\]/g)) {
        const name = (a ?? b) as string;
        expect(defined.has(name) || builtIns.has(name), `${query.panel}: $${name}`).toBe(true);
      }
    }
    const queueVar = variables.find((v) => v.name === 'queue');
    expect(queueVar?.type).toBe('query');
    expect(queueVar?.query).toMatchObject({ query: 'label_values(sluice_queue_jobs, queue)' });
  });
});

describe('the dashboard set', () => {
  const byUid = new Map(files.map((f) => {
    const d = load(f) as Dashboard;
    return [d.uid, d];
  }));

  it('has a queue overview over many queues and a per-queue drill-down', () => {
    const overview = byUid.get('sluice-overview');
    const queue = byUid.get('sluice-queue');
    expect(overview?.templating?.list?.find((v) => v.name === 'queue')).toMatchObject({ multi: true, includeAll: true });
    expect(queue?.templating?.list?.find((v) => v.name === 'queue')).toMatchObject({ multi: false });
    for (const expr of dashboardQueries(queue as Dashboard).map((q) => q.expr)) {
      if (/sluice_(queue|lane|jobs|events|job|workers|archive|event_log)_/.test(expr)) expect(expr).toContain('queue="$queue"');
    }
  });

  it('covers throughput, depth, latency, failures, retries, timeouts, dead letters, lag and workers on the overview', () => {
    const exprs = dashboardQueries(byUid.get('sluice-overview') as Dashboard).map((q) => q.expr).join('\n');
    for (const metric of [
      'sluice_jobs_published_total',
      'sluice_jobs_completed_total',
      'sluice_jobs_failed_total',
      'sluice_jobs_retried_total',
      'sluice_jobs_timed_out_total',
      'sluice_jobs_dead_lettered_total',
      'sluice_jobs_cancelled_total',
      'sluice_queue_jobs',
      'sluice_job_wait_duration_seconds_bucket',
      'sluice_job_run_duration_seconds_bucket',
      'sluice_lane_lag',
      'sluice_lane_pending',
      'sluice_workers_live',
      'sluice_events_appended_total',
      'sluice_archive_lag',
    ]) {
      expect(exprs, metric).toContain(metric);
    }
  });

  it('is what the dashboard provisioning file loads', () => {
    const provisioning = readFileSync(join(root, 'grafana', 'provisioning', 'dashboards', 'sluice.yml'), 'utf8');
    expect(provisioning).toMatch(/^apiVersion: 1$/m);
    expect(provisioning).toMatch(/type: file/);
    const datasource = readFileSync(join(root, 'grafana', 'provisioning', 'datasources', 'sluice-prometheus.yml'), 'utf8');
    expect(datasource).toMatch(/type: prometheus/);
  });
});
