/* global __ENV, __VU, __ITER */
// k6 load test of the signalling WebSocket (docs/signalling.md). NOT RUN HERE: k6 is not
// installable on the machine this project was built on; written against the documented
// protocol. Run against a local or staging service you own:
//
//   k6 run -e BASE=http://127.0.0.1:8080 -e ROOMS=5 load-tests/k6/signalling.js
//
// Each virtual user: GET /v1/demo/token -> WebSocket /ws -> join -> setRtpCapabilities ->
// createWebRtcTransport (send, recv) -> produce an Opus producer (no DTLS: no media) ->
// stays HOLD_S seconds -> leave. Errors are counted by their stable `code`.
import http from 'k6/http';
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE = __ENV.BASE || 'http://127.0.0.1:8080';
const ROOMS = Number(__ENV.ROOMS || 5);
const HOLD_S = Number(__ENV.HOLD_S || 10);
const PRODUCE = (__ENV.PRODUCE || 'true') === 'true';

export const options = {
  scenarios: {
    joins: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '30s', target: 40 }, { duration: '1m', target: 40 }, { duration: '15s', target: 0 }] },
  },
  thresholds: {
    dfd_join_ms: ['p(95)<500'],
    dfd_request_ms: ['p(95)<250'],
    dfd_errors: ['count<1'],
  },
};

const joinMs = new Trend('dfd_join_ms', true);
const requestMs = new Trend('dfd_request_ms', true);
const errors = new Counter('dfd_errors');

export default function () {
  const room = `k6-${__VU % ROOMS}`;
  const res = http.get(`${BASE}/v1/demo/token?room=${room}&name=k6-${__VU}`);
  if (!check(res, { 'token 200': (r) => r.status === 200 })) {
    errors.add(1, { code: `HTTP_${res.status}` });
    return;
  }
  const token = res.json('token');
  const wsUrl = BASE.replace(/^http/, 'ws') + '/ws';

  ws.connect(wsUrl, {}, (socket) => {
    let nextId = 1;
    const pending = {};
    const request = (method, data, onOk) => {
      const id = nextId++;
      pending[id] = { method, t0: Date.now(), onOk };
      socket.send(JSON.stringify({ type: 'request', id, method, data }));
    };
    let sendTransport;

    socket.on('open', () => {
      request('join', { token }, (joined) => {
        const router = joined.routerRtpCapabilities || { codecs: [] };
        const rtpCapabilities = { codecs: router.codecs.map((c) => Object.assign({}, c, { parameters: c.parameters || {}, rtcpFeedback: c.rtcpFeedback || [] })), headerExtensions: [] };
        request('setRtpCapabilities', { rtpCapabilities }, () => {
          request('createWebRtcTransport', { direction: 'send' }, (t) => {
            sendTransport = t.id;
            request('createWebRtcTransport', { direction: 'recv' }, () => {
              const done = () => socket.setTimeout(() => request('leave', {}, () => socket.close()), HOLD_S * 1000);
              if (!PRODUCE) return done();
              const rtpParameters = {
                codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
                encodings: [{ ssrc: 100000 + __VU * 1000 + (__ITER % 1000) }],
              };
              request('produce', { transportId: sendTransport, kind: 'audio', rtpParameters }, done);
            });
          });
        });
      });
    });

    socket.on('message', (raw) => {
      const m = JSON.parse(raw);
      if (m.type !== 'response') return; // notifications (peerJoined, newProducer, verdict ...)
      const p = pending[m.id];
      if (!p) return;
      delete pending[m.id];
      const ms = Date.now() - p.t0;
      if (p.method === 'join') joinMs.add(ms);
      else requestMs.add(ms, { method: p.method });
      if (!m.ok) {
        errors.add(1, { code: (m.error && m.error.code) || 'UNKNOWN', method: p.method });
        socket.close();
        return;
      }
      p.onOk(m.data || {});
    });

    socket.on('error', () => errors.add(1, { code: 'WS_ERROR' }));
    socket.setTimeout(() => socket.close(), (HOLD_S + 20) * 1000);
  });
}
