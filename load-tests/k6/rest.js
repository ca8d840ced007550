/* global __ENV, __VU */
// k6 load test of the REST API (api/routes.ts, OpenAPI at /v1/openapi.json). NOT RUN
// HERE: k6 is not installable on the machine this project was built on.
//
//   k6 run -e BASE=http://127.0.0.1:8080 -e DFD_OPERATOR_USER=operator -e DFD_OPERATOR_PASSWORD=... load-tests/k6/rest.js
//
// setup() signs in once (POST /v1/auth/login -> bearer token); each iteration reads what
// the dashboard reads (rooms, one room, health), issues a join token through the
// operator API and through the demo endpoint. Errors are tagged with their stable `code`.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const BASE = __ENV.BASE || 'http://127.0.0.1:8080';
const errors = new Counter('dfd_errors');

export const options = {
  scenarios: {
    api: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE || 50), timeUnit: '1s', duration: __ENV.DURATION || '1m', preAllocatedVUs: 20, maxVUs: 100 },
  },
  thresholds: {
    'http_req_duration{endpoint:rooms}': ['p(95)<100'],
    'http_req_duration{endpoint:tokens}': ['p(95)<50'],
    'http_req_duration{endpoint:demo-token}': ['p(95)<50'],
    'http_req_duration{endpoint:healthz}': ['p(95)<200'],
    dfd_errors: ['count<1'],
  },
};

function fail(res, endpoint) {
  let code = `HTTP_${res.status}`;
  try {
    code = res.json('error.code') || code;
  } catch {
    /* not JSON */
  }
  errors.add(1, { endpoint, code });
}

export function setup() {
  const res = http.post(`${BASE}/v1/auth/login`, JSON.stringify({ username: __ENV.DFD_OPERATOR_USER || 'operator', password: __ENV.DFD_OPERATOR_PASSWORD || '' }), {
    headers: { 'content-type': 'application/json' },
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.body}`);
  return { token: res.json('token') };
}

export default function (data) {
  const auth = { headers: { authorization: `Bearer ${data.token}`, 'content-type': 'application/json' } };
  const get = (path, endpoint, params) => {
    const res = http.get(`${BASE}${path}`, Object.assign({ tags: { endpoint } }, params || {}));
    if (!check(res, { [`${endpoint} 200`]: (r) => r.status === 200 })) fail(res, endpoint);
    return res;
  };

  const rooms = get('/v1/rooms', 'rooms', auth);
  const list = rooms.status === 200 ? rooms.json('rooms') || [] : [];
  if (list.length > 0 && list[0].roomId) get(`/v1/rooms/${list[0].roomId}`, 'room', auth);
  get('/healthz', 'healthz');
  get('/v1/me', 'me', auth);

  const room = `k6-${__VU % 10}`;
  const tok = http.post(`${BASE}/v1/tokens`, JSON.stringify({ room, name: `k6 ${__VU}` }), Object.assign({ tags: { endpoint: 'tokens' } }, auth));
  if (!check(tok, { 'tokens 200': (r) => r.status === 200 && !!r.json('token') })) fail(tok, 'tokens');
  get(`/v1/demo/token?room=${room}&name=k6`, 'demo-token');
}
