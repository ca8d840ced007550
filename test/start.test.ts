/**
 * `npm start`'s program: starts, prints the URLs it serves, serves the meeting page,
 * health and metrics, and shuts down on SIGTERM.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';

describe('service start-up (src/main.ts)', () => {
  it('prints its URLs and serves them', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DFD_PORT: '0', DFD_SIP_PORT: '0', DFD_HOST: '127.0.0.1', DFD_MEDIASOUP_WORKERS: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!/Metrics\s*:/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    try {
      expect(out, err).toMatch(/Meeting page : http:\/\/localhost:\d+\/meet\?room=demo/);
      const base = /Health\s+: (http:\/\/localhost:\d+)\/healthz/.exec(out)![1]!.replace('localhost', '127.0.0.1');
      const meet = await fetch(`${base}/meet?room=demo&name=T`);
      expect(meet.status).toBe(200);
      expect(await meet.text()).toContain('/web/meet.js');
      const js = await fetch(`${base}/web/meet.js`);
      expect(js.status).toBe(200);
      const health = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; checks: Record<string, { ok: boolean }> };
      expect(health.ok).toBe(true);
      expect(health.checks['mediasoup']?.ok).toBe(true);
      expect(health.checks['nats']?.ok).toBe(true);
      expect(health.checks['detectors']?.ok).toBe(true);
      expect((health.checks['detectors'] as unknown as { faceAnalysis: boolean }).faceAnalysis).toBe(true);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const name of ['dfd_sfu_rooms 1', 'dfd_sfu_peers', 'dfd_sfu_producers', 'dfd_sfu_consumers', 'dfd_sfu_worker_restarts_total', 'dfd_process_cpu_user_seconds_total']) {
        expect(metrics).toContain(name);
      }
      const token = await fetch(`${base}/v1/demo/token?room=bad.room`);
      expect(token.status).toBe(400);
      expect(((await token.json()) as { error: { code: string } }).error.code).toBe('ERR_BAD_REQUEST');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/web/../package.json`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(child.exitCode).toBe(0);
  });
});
