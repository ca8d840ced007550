/**
 * Reducer cost per live event with full timelines (600 points per participant), 20 calls
 * of 4 participants. Prints JSON. Run: node --import tsx dashboard/web/state.bench.ts
 */
import { initialState, reduce, type DashboardState } from './state.js';
import { parseWireEvent, type WireEvent } from './types.js';

const rooms = 20;
const peers = 4;
const events: WireEvent[] = [];
const t0 = Date.UTC(2026, 0, 1);
for (let i = 0; i < 60_000; i++) {
  const room = `r${i % rooms}`;
  const peer = `p${Math.floor(i / rooms) % peers}`;
  const verdict = i % 5 === 0;
  const e = parseWireEvent({
    id: `e${i}`,
    type: verdict ? 'verdict' : 'score',
    roomId: room,
    peerId: peer,
    displayName: peer,
    ts: new Date(t0 + i * 10).toISOString(),
    payload: verdict ? { state: i % 15 === 0 ? 'suspicious' : 'likely-genuine', pFake: 0.4, confidence: 0.6 } : { detector: i % 2 ? 'voice' : 'face', pFake: 0.3 },
  });
  if (e) events.push(e);
}
let state: DashboardState = initialState;
// Warm up and fill every timeline to its bound.
for (const event of events.slice(0, 50_000)) state = reduce(state, { type: 'event', event });
const start = performance.now();
for (const event of events.slice(50_000)) state = reduce(state, { type: 'event', event });
const ms = performance.now() - start;
console.log(JSON.stringify({ events: 10_000, rooms, peersPerRoom: peers, msTotal: Math.round(ms), usPerEvent: Math.round((ms * 1000) / 10_000), eventsPerSec: Math.round(10_000 / (ms / 1000)), timelinePoints: state.calls[0]?.participants[0]?.timeline.length }));
