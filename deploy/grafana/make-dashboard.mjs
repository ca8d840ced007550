// Generates deploy/grafana/dfd-dashboard.json (Grafana 10+ dashboard over the service's
// Prometheus metrics). Run: node deploy/grafana/make-dashboard.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ds = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
let id = 0;
const panel = (title, exprs, { unit = 'short', w = 8, h = 8, type = 'timeseries' } = {}) => ({
  id: ++id,
  type,
  title,
  datasource: ds,
  fieldConfig: { defaults: { unit }, overrides: [] },
  options: { legend: { displayMode: 'list', placement: 'bottom' } },
  gridPos: { w, h, x: 0, y: 0 },
  targets: exprs.map(([expr, legendFormat], i) => ({ refId: String.fromCharCode(65 + i), datasource: ds, expr, legendFormat })),
});
const row = (title) => ({ id: ++id, type: 'row', title, collapsed: false, gridPos: { w: 24, h: 1, x: 0, y: 0 }, panels: [] });
/**
 * An alert rule's expression from deploy/prometheus/alerts.yml without its threshold, its threshold and `for`: the
 * panel shows what the alert watches. A rule of the form `<expr> > <threshold> unless ...` gives its first part.
 */
function alertExpr(name) {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'prometheus', 'alerts.yml');
  const rule = parse(fs.readFileSync(file, 'utf8')).groups.flatMap((g) => g.rules).find((r) => r.alert === name);
  const m = /^([\s\S]*?\))\s*>\s*([0-9.]+)\s*(?:unless\b[\s\S]*)?$/.exec(rule.expr.trim());
  if (!m) throw new Error(`alert ${name}: expected "<expr> > <threshold>"`);
  return { expr: m[1].replace(/\s+/g, ' ').trim(), threshold: Number(m[2]), for: rule.for };
}
const thinned = alertExpr('DfdAnalysisThinned');
const nodeThinned = alertExpr('DfdNodeAnalysisThinned');
const p95 = (m, by = '') => `histogram_quantile(0.95, sum by (le${by ? ', ' + by : ''}) (rate(${m}_bucket[5m])))`;

const panels = [
  row('Calls'),
  panel('Rooms, peers, producers', [['dfd_sfu_rooms', 'rooms'], ['dfd_sfu_peers', 'peers'], ['dfd_sfu_producers', 'producers'], ['dfd_sfu_consumers', 'consumers']]),
  panel('Analysed streams', [['sum by (kind) (dfd_pipeline_active_streams)', '{{kind}}']]),
  panel('mediasoup workers', [['dfd_sfu_workers_alive', 'alive'], ['increase(dfd_sfu_worker_restarts_total[1h])', 'restarts (1h)'], ['rate(dfd_sfu_worker_cpu_seconds[5m])', 'cpu worker {{worker}}']]),
  row('Analysis'),
  panel('Windows dropped /s (by reason)', [['sum by (detector, reason) (rate(dfd_windows_dropped_total[5m]))', '{{detector}} {{reason}}']]),
  panel(`Share dropped under load (alert DfdAnalysisThinned above ${thinned.threshold * 100} % for ${thinned.for})`, [[thinned.expr, '{{detector}}']], { unit: 'percentunit' }),
  panel(`Share dropped under load per instance (alert DfdNodeAnalysisThinned above ${nodeThinned.threshold * 100} % for ${nodeThinned.for})`, [[nodeThinned.expr, '{{instance}} {{detector}}']], { unit: 'percentunit' }),
  panel('Inference p95', [[p95('dfd_inference_seconds', 'detector'), '{{detector}}'], [p95('dfd_inference_queue_wait_seconds', 'detector'), 'queue wait {{detector}}']], { unit: 's' }),
  panel('Analysis lag behind real time', [['dfd_analysis_lag_current_seconds', '{{detector}}'], [p95('dfd_analysis_lag_seconds'), 'p95']], { unit: 's' }),
  panel('Inference queue depth', [['dfd_inference_queue_depth', '{{detector}}']]),
  panel('Stage latency p95', [[p95('dfd_pipeline_tap_to_window_seconds'), 'tap to window'], [p95('dfd_pipeline_window_to_verdict_seconds'), 'window to verdict'], [p95('dfd_face_stage_seconds', 'stage'), 'face {{stage}}']], { unit: 's' }),
  panel('Audio input', [['rate(dfd_audio_lost_packets_total[5m])', 'lost packets/s'], ['rate(dfd_audio_concealed_seconds_total[5m])', 'concealed s/s'], ['sum by (outcome) (rate(dfd_audio_packets_total[5m]))', 'packets {{outcome}}']]),
  // Challenge answers are judged on one analysis thread shared with the callers' baseline chunks
  // (answers first); a slow baseline means challenges are checked against population defaults.
  row('Challenges'),
  panel('Challenges /s (by outcome)', [['sum by (outcome) (rate(dfd_challenges_total[5m]))', '{{outcome}}']]),
  panel('Challenge analysis p95', [[p95('dfd_challenge_analysis_wait_seconds', 'kind'), 'wait {{kind}}'], [p95('dfd_challenge_evaluation_seconds'), 'judging an answer'], [p95('dfd_challenge_baseline_ready_seconds'), 'first speech to personal baseline']], { unit: 's' }),
  panel('Challenge inputs degraded /s (by reason)', [['sum by (reason) (rate(dfd_challenge_input_degraded_total[5m]))', '{{reason}}']]),
  // Service nodes send windows (dfd_remote_*), analysis workers score them (dfd_worker_*); one
  // series per node or worker (instance) where the load can differ between them.
  row('Cluster (remote analysis)'),
  panel('Work requests /s (by outcome)', [['sum by (outcome) (rate(dfd_remote_requests_total[5m]))', '{{outcome}}'], ['sum(rate(dfd_remote_retries_total[5m]))', 'retries']]),
  panel('Work round trip p95', [[p95('dfd_remote_request_seconds'), 'round trip']], { unit: 's' }),
  panel('Windows in flight / queued for workers', [['dfd_remote_in_flight', 'in flight {{instance}}'], ['dfd_remote_queue_depth', 'queued {{instance}}']]),
  panel('Worker requests /s (by outcome)', [['sum by (outcome) (rate(dfd_worker_requests_total[5m]))', '{{outcome}}']]),
  panel('Worker pending windows', [['dfd_worker_pending_windows', '{{instance}}']]),
  panel('Worker request p95', [[p95('dfd_worker_request_seconds', 'instance'), '{{instance}}']], { unit: 's' }),
  panel('Rooms held per service node', [['dfd_room_leases_held', '{{instance}}']]),
  panel('Room claims /s (by result)', [['sum by (result) (rate(dfd_room_claims_total[5m]))', '{{result}}']]),
  panel('Room leases lost / invalid', [['increase(dfd_room_leases_lost_total[1h])', 'lost (1h) {{instance}}'], ['increase(dfd_room_leases_invalid_total[1h])', 'invalid (1h) {{instance}}']]),
  row('Events and people'),
  panel('Events published / dropped', [['sum by (type) (rate(dfd_events_published_total[5m]))', 'published {{type}}'], ['sum by (reason) (rate(dfd_events_dropped_total[5m]))', 'dropped {{reason}}'], ['dfd_events_buffered', 'buffered']]),
  panel('NATS connection', [['dfd_events_connected', 'connected'], ['increase(dfd_events_reconnects_total[1h])', 'reconnects (1h)']]),
  panel('Dashboard clients', [['dfd_sse_clients', 'SSE clients'], ['rate(dfd_sse_skipped_total[5m])', 'skipped events/s']]),
  panel('Signalling', [['sum by (result) (rate(dfd_signalling_requests_total[5m]))', '{{result}}'], ['dfd_signalling_sockets', 'sockets']]),
  panel('Process', [['rate(dfd_process_cpu_seconds_total[5m])', 'cpu'], ['dfd_process_resident_memory_bytes / 1e6', 'rss MB'], ['dfd_nodejs_eventloop_lag_p99_seconds * 1000', 'event loop lag p99 ms']]),
];

// Lay panels out in rows of three.
let x = 0;
let y = 0;
for (const p of panels) {
  if (p.type === 'row') {
    if (x) y += 8;
    x = 0;
    p.gridPos = { ...p.gridPos, x: 0, y };
    y += 1;
    continue;
  }
  p.gridPos = { ...p.gridPos, x, y };
  x += p.gridPos.w;
  if (x >= 24) {
    x = 0;
    y += p.gridPos.h;
  }
}

const dashboard = {
  __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
  title: 'Deepfake defense',
  uid: 'dfd-overview',
  schemaVersion: 39,
  version: 1,
  editable: true,
  time: { from: 'now-1h', to: 'now' },
  refresh: '10s',
  tags: ['dfd'],
  // Resolves ${DS_PROMETHEUS} when the dashboard is provisioned from a file (deploy/grafana/provisioning),
  // where no import dialog fills __inputs in: the first Prometheus data source, or the one picked.
  templating: { list: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', query: 'prometheus', hide: 0 }] },
  panels,
};
// `node make-dashboard.mjs [OUT]`: OUT defaults to the committed file beside this script.
const out = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'dfd-dashboard.json');
fs.writeFileSync(out, JSON.stringify(dashboard, null, 2) + '\n');
console.log(`wrote ${out}`);
