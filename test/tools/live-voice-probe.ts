/**
 * Live-path probe for the voice detectors: what does the real call path do to a recording, and
 * what do the committed models score on it there?
 *
 *   node --import tsx test/tools/live-voice-probe.ts <speech.wav> [--apm on|off] [--speech SEC] [--out DIR] [--model DIR]
 *
 * One headless Chromium (Debian's) speaks <speech.wav> as its microphone into a service room:
 * WebRTC (Chromium's audio processing on or off: `--apm`, default on, which is what `audio: true`
 * gives a meeting page) -> mediasoup -> tap -> Opus decode -> VAD -> speech windows -> the
 * committed voice-antispoof and voice-whisper -> scores. It stops after SEC seconds of
 * speech windows (default 30) and prints one JSON line: per-detector mean pFake and each
 * window's score. With `--out DIR` (an operator's explicit choice: it writes call audio to disk)
 * it also writes each scored 16 kHz window as DIR/wNNNN.wav and DIR/windows.tsv, a manifest
 * `npm run eval` reads, so the same windows can be scored offline and compared with the file. `--model DIR` scores with
 * another voice-antispoof (a candidate's folder: manifest.json and its ONNX) in place of the committed one.
 *
 * A diagnostic, not a test: nothing here is asserted. docs/models.md ("The live-path gap")
 * names the runs it backs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { modelsDirOf, removeDir } from '../helpers/models.js';
import { repoRoot } from '../../src/config.js';
import { encodeWav } from '../../challenge-response/dsp/wav.js';
import type { AudioWindow } from '../../pipeline/messages.js';
import type { DetectorScore } from '../../pipeline/inference/InferenceBackend.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { apm: { type: 'string', default: 'on' }, speech: { type: 'string', default: '30' }, out: { type: 'string' }, model: { type: 'string' } },
});
const wav = positionals[0];
const speechSec = Number(values.speech);
if (!wav || !fs.existsSync(wav) || !['on', 'off'].includes(values.apm) || !(speechSec > 0)) {
  console.error('usage: live-voice-probe.ts <speech.wav> [--apm on|off] [--speech SEC] [--out DIR] [--model DIR]');
  process.exit(2);
}

const voiceDir = values.model ? path.resolve(values.model) : path.join(repoRoot, 'detectors/models/voice-antispoof');
const { dir: modelsDir } = await modelsDirOf([voiceDir, path.join(repoRoot, 'detectors/models/voice-whisper')]);
const service = await startTestService({ modelsDir, faceAnalysis: false, challenges: false }, { events: false, analysis: true });
const windows = new Map<number, AudioWindow>();
const scores: DetectorScore[] = [];
service.pipeline!.on('audio-window', (w) => windows.set(w.seq, w));
service.pipeline!.on('score', (s) => scores.push(s));
const browser = await launchBrowser({ wav, y4m: fixtures.testY4m });
try {
  const page = await browser.newPage();
  if (values.apm === 'off') {
    // The page asks for `audio: true`; this turns Chromium's processing (AEC, NS, AGC, high-pass) off.
    await page.addInitScript(() => {
      const md = navigator.mediaDevices;
      const orig = md.getUserMedia.bind(md);
      md.getUserMedia = (c?: MediaStreamConstraints) =>
        orig({ ...c, audio: c?.audio ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : false });
    });
  }
  await page.goto(`http://127.0.0.1:${service.port}/meet?room=probe&name=Probe&autojoin=1`);
  await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 30_000 });
  const hop = service.config.audioHopSec;
  const deadline = Date.now() + Math.max(120_000, speechSec * 4000);
  const voiceScores = (): DetectorScore[] => scores.filter((s) => s.detector === 'voice-antispoof');
  while (Date.now() < deadline && voiceScores().length * hop < speechSec) await new Promise((r) => setTimeout(r, 250));
} finally {
  await browser.close().catch(() => undefined);
}
const byDetector = new Map<string, DetectorScore[]>();
for (const s of scores) byDetector.set(s.detector, [...(byDetector.get(s.detector) ?? []), s]);
// The calibration the service chose: 'suppressed' when the page said its noise suppressor runs.
const channels: Record<string, number> = {};
for (const w of windows.values()) {
  const ch = w.quality.channel ?? 'wideband';
  channels[ch] = (channels[ch] ?? 0) + 1;
}
const summary: Record<string, unknown> = { wav: path.basename(wav), apm: values.apm, windows: windows.size, channels };
for (const [id, ss] of byDetector) {
  summary[id] = {
    version: ss[0]?.modelVersion,
    meanPFake: Number((ss.reduce((a, s) => a + s.pFake, 0) / ss.length).toFixed(3)),
    n: ss.length,
    pFakes: ss.map((s) => Number(s.pFake.toFixed(2))),
  };
}
if (values.out) {
  fs.mkdirSync(values.out, { recursive: true });
  const rows = ['path\tlabel\tgenerator\tsource\tspeaker\tseq\tpFake'];
  for (const s of byDetector.get('voice-antispoof') ?? []) {
    const w = windows.get(s.seq);
    if (!w) continue;
    const name = `w${String(s.seq).padStart(4, '0')}.wav`;
    fs.writeFileSync(path.join(values.out, name), encodeWav(w.samples, w.sampleRate));
    rows.push([name, 'unknown', 'live', path.basename(wav), 'probe', s.seq, s.pFake.toFixed(4)].join('\t'));
  }
  fs.writeFileSync(path.join(values.out, 'windows.tsv'), `${rows.join('\n')}\n`);
  summary['out'] = values.out;
}
console.log(JSON.stringify(summary));
await service.close();
removeDir(modelsDir);
