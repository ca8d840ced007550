/**
 * The eval channels on real (espeak-ng) speech: what each one does to the signal, the loss
 * schedule, the service's concealment path, the quality the service would see, and the typed
 * configuration errors of `npm run eval -- --channel`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { OpusDecoder } from '../../pipeline/audio/OpusDecoder.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';
import { amrNbRoundTrip, amrWbRoundTrip, applyChannel, channelQuality, channelSpec, lossSchedule, opusSpec, trunkCodec } from './channel.js';
import { parseCliArgs } from './cli.js';
import { chainText, decodeAudio48k, resolveChannel } from './clipMedia.js';

let dir: string;
let speech: Float32Array;

/** Energy of x (at `rate`) between f0 and f1 Hz, from a plain DFT over 1024-sample Hann frames. */
function bandEnergy(x: Float32Array, rate: number, f0: number, f1: number): number {
  const N = 1024;
  const k0 = Math.ceil((f0 * N) / rate);
  const k1 = Math.min(N / 2, Math.floor((f1 * N) / rate));
  const cos = new Float64Array(N);
  const sin = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / N);
    sin[i] = Math.sin((2 * Math.PI * i) / N);
  }
  const frame = new Float64Array(N);
  let e = 0;
  for (let s = 0; s + N <= x.length; s += N) {
    for (let i = 0; i < N; i++) frame[i] = x[s + i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N));
    for (let k = k0; k <= k1; k++) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < N; i++) {
        const j = (k * i) % N;
        re += frame[i]! * cos[j]!;
        im -= frame[i]! * sin[j]!;
      }
      e += re * re + im * im;
    }
  }
  return e;
}

function db(a: number, b: number): number {
  return 10 * Math.log10(a / b);
}

function snrDb(ref: Float32Array, y: Float32Array): number {
  const n = Math.min(ref.length, y.length);
  let s = 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    s += ref[i]! ** 2;
    e += (ref[i]! - y[i]!) ** 2;
  }
  return db(s, e);
}

/**
 * A mobile caller's speech codec before a G.711 trunk: the telephone band only, about as much speech
 * energy in it as plain G.711 carries, but not G.711's waveform (a model-based codec keeps the
 * spectrum, not the samples), and what the service sees of the leg is the G.711 trunk.
 */
function expectMobileOnG711(out: ReturnType<typeof applyChannel>, g711: ReturnType<typeof applyChannel>): void {
  expect(out.sampleRate).toBe(16000);
  expect(out.samples.length).toBe(g711.samples.length);
  expect(db(bandEnergy(out.samples, 16000, 4200, 8000), bandEnergy(out.samples, 16000, 0, 8000))).toBeLessThan(-30);
  expect(Math.abs(db(bandEnergy(out.samples, 16000, 300, 3400), bandEnergy(g711.samples, 16000, 300, 3400)))).toBeLessThan(3);
  expect(snrDb(g711.samples, out.samples)).toBeLessThan(15);
  expect(channelQuality(out, 0, 2)).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'NB', channel: 'telephone' });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-channel-'));
  execFileSync('espeak-ng', ['-w', path.join(dir, 's.wav'), 'she sells sea shells by the sea shore, then calls the office to check the schedule'], { stdio: 'ignore' });
  speech = await decodeAudio48k(path.join(dir, 's.wav'), 30);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('eval channels on espeak-ng speech', () => {
  it('clean passes the 48 kHz signal through untouched', () => {
    const out = applyChannel(speech, channelSpec('clean'));
    expect(out.sampleRate).toBe(48000);
    expect(out.samples).toBe(speech);
    expect(out.packets).toEqual([]);
    expect(channelQuality(out, 0, 2)).toEqual({ packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'none' });
    // a sender whose noise suppressor ran: the service marks its wideband windows
    expect(channelQuality(out, 0, 2, { noiseSuppression: true })).toEqual({ packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'none', channel: 'suppressed' });
  });

  it('g711 leaves nothing above 4 kHz and keeps the telephone band at a mu-law SNR', () => {
    const out = applyChannel(speech, channelSpec('g711'));
    expect(out.sampleRate).toBe(16000);
    expect(Math.abs(out.samples.length / 16000 - speech.length / 48000)).toBeLessThan(0.01);
    // espeak-ng (22.05 kHz) has real energy above 4 kHz: the test can see it go.
    const in16 = resampleClip(speech, 48000, 16000);
    expect(db(bandEnergy(in16, 16000, 4200, 8000), bandEnergy(in16, 16000, 0, 8000))).toBeGreaterThan(-25);
    expect(db(bandEnergy(out.samples, 16000, 4200, 8000), bandEnergy(out.samples, 16000, 0, 8000))).toBeLessThan(-30);
    // Against the same band without the codec (48 -> 8 -> 16 kHz): mu-law noise only.
    const band = resampleClip(resampleClip(speech, 48000, 8000), 8000, 16000);
    const snr = snrDb(band, out.samples);
    expect(snr).toBeGreaterThan(25);
    expect(snr).toBeLessThan(50);
    // a phone leg, as the service marks a PCMU leg's windows, whatever the far end did to the audio
    expect(channelQuality(out, 0, 2)).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'NB', channel: 'telephone' });
    expect(channelQuality(out, 0, 2, { noiseSuppression: true })).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'NB', channel: 'telephone' });
  });

  it('amrg711: AMR-NB 12.2 kb/s before the G.711 step, a phone leg like g711 with a speech codec\'s distortion', () => {
    const spec = channelSpec('amrg711');
    expect(spec).toMatchObject({ codec: 'amr-g711', calibration: 'telephone' });
    expect(chainText(spec)).toBe('Resampler -> 8 kHz -> AMR-NB 12.2 kb/s encode/decode (sox, opencore) -> G.711 mu-law encode/decode -> Resampler -> 16 kHz -> ');
    expectMobileOnG711(applyChannel(speech, spec), applyChannel(speech, channelSpec('g711')));
  });

  it('g722: an HD-voice SIP leg keeps the band above 4 kHz, sample for sample what ffmpeg\'s G.722 codec makes of it, judged wideband', () => {
    const spec = channelSpec('g722');
    expect(spec).toMatchObject({ codec: 'g722', bitrate: 64000, calibration: 'wideband' });
    expect(chainText(spec)).toBe('Resampler -> 16 kHz -> G.722 64 kb/s encode/decode (pipeline/audio/G722.ts, 20 ms packets) -> ');
    const out = applyChannel(speech, spec);
    const in16 = resampleClip(speech, 48000, 16000);
    expect(out.sampleRate).toBe(16000);
    expect(out.samples.length).toBe(in16.length);
    expect(out.packets).toHaveLength(Math.ceil(in16.length / 320));
    expect(out.packets.slice(0, -1).every((p) => p.bytes === 160 && p.bandwidth === 'WB' && !p.lost)).toBe(true);
    // unlike a phone leg, the 4-8 kHz band survives (G.722's 16 kb/s upper sub-band)
    const high = (x: Float32Array): number => db(bandEnergy(x, 16000, 4200, 8000), bandEnergy(x, 16000, 0, 8000));
    expect(high(out.samples)).toBeGreaterThan(-25);
    expect(Math.abs(high(out.samples) - high(in16))).toBeLessThan(3);
    // the codec's own output, 22 samples (the two QMFs) late: the same int16 samples as ffmpeg's g722
    // encoder and decoder give for the same 16 kHz PCM in one stream (an odd last sample waits for
    // its pair in G722Encoder, as a live sender's would, and stays silent here)
    const pcm = Buffer.alloc(in16.length * 2);
    for (let i = 0; i < in16.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(in16[i]! * 32768))), i * 2);
    const coded = execFileSync('ffmpeg', ['-v', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-c:a', 'g722', '-f', 'g722', 'pipe:1'], { input: pcm });
    const ref = execFileSync('ffmpeg', ['-v', 'error', '-f', 'g722', '-i', 'pipe:0', '-f', 's16le', 'pipe:1'], { input: coded });
    const n = Math.min(out.samples.length - (out.samples.length % 2), ref.length / 2);
    expect(n).toBeGreaterThan(in16.length - 320);
    let differing = 0;
    for (let i = 0; i < n; i++) if (Math.round(out.samples[i]! * 32768) !== ref.readInt16LE(2 * i)) differing++;
    expect(differing).toBe(0);
    const aligned = out.samples.subarray(22);
    const snr = snrDb(in16.subarray(0, aligned.length), aligned);
    expect(snr).toBeGreaterThan(10);
    expect(snr).toBeLessThan(40);
    // what the service sees of a G.722 leg: wideband packets, no channel family (no suppressor is
    // assumed for a SIP leg), marked as G.722 for the leg's own verdict weight
    expect(channelQuality(out, 0, 2)).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'WB', codec: 'g722' });
  });

  it('amrwbg722: a VoLTE caller on an HD-voice trunk, AMR-WB 12.65 kb/s before G.722, keeps the band above 4 kHz and is judged as a G.722 leg', () => {
    const spec = channelSpec('amrwbg722');
    expect(spec).toMatchObject({ codec: 'amrwb-g722', bitrate: 64000, calibration: 'wideband' });
    expect(trunkCodec(spec.codec)).toBe('g722');
    expect(chainText(spec)).toBe('Resampler -> 16 kHz -> AMR-WB 12.65 kb/s encode/decode (libvo-amrwbenc, sox/opencore) -> G.722 64 kb/s encode/decode (pipeline/audio/G722.ts, 20 ms packets) -> ');
    const out = applyChannel(speech, spec);
    const g722 = applyChannel(speech, channelSpec('g722'));
    expect(out.sampleRate).toBe(16000);
    expect(out.samples.length).toBe(g722.samples.length);
    const rel = (x: Float32Array, f0: number, f1: number): number => db(bandEnergy(x, 16000, f0, f1), bandEnergy(x, 16000, 0, 8000));
    // wideband speech: AMR-WB codes up to 6.4 kHz, so 4.2-6.2 kHz stays about as G.722 alone keeps it
    expect(rel(out.samples, 4200, 6200)).toBeGreaterThan(-25);
    expect(Math.abs(rel(out.samples, 4200, 6200) - rel(g722.samples, 4200, 6200))).toBeLessThan(4);
    // nothing of the caller's own above 7 kHz: less there than G.722 alone passes
    expect(rel(out.samples, 7200, 8000)).toBeLessThan(rel(g722.samples, 7200, 8000) - 3);
    // a model-based codec keeps the spectrum, not G.722's waveform
    expect(snrDb(g722.samples, out.samples)).toBeLessThan(15);
    // what the service sees of the leg is the G.722 trunk
    expect(channelQuality(out, 0, 2)).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'WB', codec: 'g722' });
  });

  it('amrwbg711: a VoLTE caller on a G.711 trunk, AMR-WB before the telephone band, is a phone leg like g711 and amrg711', () => {
    const spec = channelSpec('amrwbg711');
    expect(spec).toMatchObject({ codec: 'amrwb-g711', calibration: 'telephone' });
    expect(trunkCodec(spec.codec)).toBe('g711');
    const out = applyChannel(speech, spec);
    expectMobileOnG711(out, applyChannel(speech, channelSpec('g711')));
    // nor AMR-NB's waveform
    expect(snrDb(applyChannel(speech, channelSpec('amrg711')).samples, out.samples)).toBeLessThan(15);
  });

  it('an AMR round trip without its tools fails with a typed ERR_DECODE_FAILED that says what is missing', () => {
    const pathBefore = process.env['PATH'];
    process.env['PATH'] = dir; // no python3, no sox
    try {
      for (const [run, codec] of [[() => amrWbRoundTrip(new Float32Array(320)), 'AMR-WB'], [() => amrNbRoundTrip(new Float32Array(160)), 'AMR-NB']] as const) {
        let caught: unknown;
        try {
          run();
        } catch (e) {
          caught = e;
        }
        expect(isDfdError(caught) && caught.code === 'ERR_DECODE_FAILED').toBe(true);
        expect(String((caught as Error).message)).toContain(`the ${codec} round trip`);
      }
    } finally {
      process.env['PATH'] = pathBefore;
    }
  });

  it('amrwb_encode.py writes RFC 4867 storage format at 12.65 kb/s (33 octets a frame) and refuses a bad mode with exit 2', () => {
    const encoder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'amrwb_encode.py');
    const pcm = Buffer.alloc(2 * 16000); // one second: 50 frames
    for (let i = 0; i < 16000; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), 2 * i);
    const awb = execFileSync('python3', [encoder, '2'], { input: pcm });
    expect(awb.subarray(0, 9).toString('latin1')).toBe('#!AMR-WB\n');
    expect(awb.length).toBe(9 + 50 * 33);
    // each frame's table-of-contents octet: frame type 2 (12.65 kb/s), quality bit set
    for (let f = 0; f < 50; f++) expect(awb[9 + 33 * f]).toBe(0x14);
    const bad = spawnSync('python3', [encoder, '9'], { input: pcm });
    expect(bad.status).toBe(2);
    expect(String(bad.stderr)).toContain('usage');
    expect(bad.stdout.length).toBe(0);
  });

  it('opus12loss loses exactly 5 % of the packets after the first, the same ones for the same seed', () => {
    const n = Math.ceil(speech.length / 960);
    const a = lossSchedule(n, 0.05, 1);
    const count = a.reduce((s, v) => s + v, 0);
    expect(count).toBe(Math.round(0.05 * (n - 1)));
    expect(count).toBeGreaterThan(5);
    expect(a[0]).toBe(0);
    expect(Array.from(lossSchedule(n, 0.05, 1))).toEqual(Array.from(a));
    expect(Array.from(lossSchedule(n, 0.05, 2))).not.toEqual(Array.from(a));
    expect(lossSchedule(n, 0, 1).every((v) => v === 0)).toBe(true);
    expect(lossSchedule(1, 0.5, 1)).toEqual(new Uint8Array(1));
  });

  it('opus12loss conceals each lost packet with the service OpusDecoder.conceal and differs from opus24', () => {
    const conceal = vi.spyOn(OpusDecoder.prototype, 'conceal');
    try {
      const loss = applyChannel(speech, channelSpec('opus12loss'), 1);
      const lost = loss.packets.filter((p) => p.lost).length;
      expect(loss.packets.length).toBe(Math.ceil(speech.length / 960));
      expect(lost).toBe(Math.round(0.05 * (loss.packets.length - 1)));
      expect(loss.packets[0]!.lost).toBe(false);
      expect(conceal).toHaveBeenCalledTimes(lost);
      for (const c of conceal.mock.calls) expect(c[0]).toBe(960);
      expect(loss.concealedSamples).toBe(lost * 960);
      // libopus PLC extrapolates: concealed packets in speech are not silence.
      const voiced = loss.packets.flatMap((p, k) => (p.lost ? [k] : [])).filter((k) => speech.subarray(k * 960, k * 960 + 960).some((v) => Math.abs(v) > 0.05));
      expect(voiced.length).toBeGreaterThan(0);
      expect(voiced.some((k) => loss.samples.subarray(k * 960, k * 960 + 960).some((v) => v !== 0))).toBe(true);
      expect(Array.from(applyChannel(speech, channelSpec('opus12loss'), 1).samples)).toEqual(Array.from(loss.samples));

      conceal.mockClear();
      const o24 = applyChannel(speech, channelSpec('opus24'));
      expect(conceal).not.toHaveBeenCalled();
      expect(o24.packets.every((p) => !p.lost)).toBe(true);
      expect(o24.samples.length).toBe(speech.length);
      expect(loss.samples.length).toBe(speech.length);
      // Both still carry the speech (energy within 3 dB), but not the same way.
      const energy = (x: Float32Array): number => x.reduce((s, v) => s + v * v, 0);
      expect(Math.abs(db(energy(o24.samples), energy(speech)))).toBeLessThan(3);
      expect(Math.abs(db(energy(loss.samples), energy(speech)))).toBeLessThan(3);
      expect(snrDb(o24.samples, loss.samples)).toBeLessThan(20);
      // Payload sizes follow the bitrate.
      const kbps = (c: typeof o24): number => (c.packets.reduce((s, p) => s + p.bytes, 0) * 8) / (c.packets.length * 0.02) / 1000;
      expect(kbps(o24)).toBeGreaterThan(15);
      expect(kbps(loss)).toBeLessThan(15);

      // The quality the service would see on a window holding a lost packet.
      const k = loss.packets.findIndex((p) => p.lost);
      const q = channelQuality(loss, (k * 0.02) - 0.5, k * 0.02 + 0.5);
      expect(q.packetLoss).toBeGreaterThan(0);
      expect(q.concealed).toBeCloseTo(q.packetLoss, 1);
      expect(q.bandwidth).toBe('WB'); // SILK wideband at 12 kb/s
      expect(channelQuality(o24, 0, 2).packetLoss).toBe(0);
      // a gateway's Opus leg is marked as AudioStreamProcessor marks it; a browser's is not
      expect(channelQuality(o24, 0, 2, { gatewayLeg: true }).codec).toBe('sip-opus');
      expect(channelQuality(o24, 0, 2).codec).toBeUndefined();
    } finally {
      conceal.mockRestore();
    }
  });

  it('--opus stays the lossless Opus path at the given bitrate', () => {
    const spec = opusSpec(16000);
    expect(spec).toMatchObject({ name: 'opus16000', codec: 'opus', bitrate: 16000, lossRate: 0 });
    expect(resolveChannel({ channel: undefined, opusBitrate: 16000 })).toEqual(spec);
    expect(resolveChannel({ channel: undefined, opusBitrate: undefined }).name).toBe('clean');
  });

  it('typed configuration errors: --channel with --opus, an unknown channel, a bad bitrate', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isDfdError(e) ? e.code : 'untyped';
      }
      return undefined;
    };
    expect(code(() => parseCliArgs(['l.tsv', '--channel', 'g711', '--opus', '24000']))).toBe('ERR_CONFIG');
    expect(code(() => parseCliArgs(['l.tsv', '--channel', 'gsm']))).toBe('ERR_CONFIG');
    expect(code(() => resolveChannel({ channel: 'opus24', opusBitrate: 24000 }))).toBe('ERR_CONFIG');
    expect(code(() => resolveChannel({ channel: undefined, opusBitrate: 100 }))).toBe('ERR_CONFIG');
    expect(code(() => channelSpec('opus'))).toBe('ERR_CONFIG');
    expect(parseCliArgs(['l.tsv', '--channel', 'opus12loss'])).toMatchObject({ tsv: 'l.tsv', channel: 'opus12loss' });
  });
});
