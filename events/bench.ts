/**
 * Event bus benchmark; prints one JSON object.
 *   node --import tsx events/bench.ts [events=5000]
 * Measures: CPU cost of validate + seal per event (no I/O), acknowledged JetStream publish
 * throughput on an embedded nats-server, and a run with a server restart in the middle
 * (events sent / stored / dropped / retried, time to drain).
 */
import { setLogLevel } from '../kernel/log.js';
import { AuditLog } from './AuditLog.js';
import { EventBus } from './EventBus.js';
import { assertEvent, makeEvent, type DfdEvent } from './schema.js';

setLogLevel('error');
const n = Number(process.argv[2] ?? 5000);
const base = { roomId: 'bench', peerId: 'p1', displayName: 'Bench', models: [{ id: 'aasist-l', version: '1' }] };
const score = (i: number, roomId: string): DfdEvent =>
  makeEvent('score', { ...base, roomId }, { detector: 'voice-antispoof', pFake: 0.5, evidence: 4, windowSeq: i, queueMs: 1, inferenceMs: 20 });

const audit = new AuditLog();
const evs = Array.from({ length: n }, (_, i) => score(i, 'cpu'));
for (const e of evs.slice(0, 500)) assertEvent(audit.seal(e)); // warm-up: schema compile, JIT
let t = performance.now();
for (const e of evs) {
  assertEvent(e);
  audit.seal(e);
}
const cpuUsPerEvent = ((performance.now() - t) * 1000) / n;

const bus = await EventBus.connect({});
t = performance.now();
for (let i = 0; i < n; i++) bus.publish(score(i, 'tput'));
await bus.flush(120_000);
const throughputPerS = n / ((performance.now() - t) / 1000);
const before = bus.stats;

t = performance.now();
const sent: string[] = [];
const producer = (async () => {
  while (sent.length < n) {
    for (let k = 0; k < 50 && sent.length < n; k++) {
      const e = score(sent.length, 'restart');
      bus.publish(e);
      sent.push(e.id);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
})();
while (sent.length < n / 3) await new Promise((r) => setTimeout(r, 5));
await bus.server?.restart({ hard: true, downMs: 500 });
await producer;
await bus.flush(120_000);
const restartDrainMs = performance.now() - t;
const bundle = await bus.exportBundle('restart');
const after = bus.stats;
await bus.close();

process.stdout.write(
  JSON.stringify({
    events: n,
    cpuUsPerEventValidateAndSeal: Number(cpuUsPerEvent.toFixed(1)),
    ackedPublishThroughputPerS: Math.round(throughputPerS),
    restart: {
      sent: n,
      stored: new Set(bundle.records.map((r) => r.id)).size,
      dropped: after.dropped - before.dropped,
      retries: after.retries - before.retries,
      totalMs: Math.round(restartDrainMs),
    },
  }) + '\n',
);
