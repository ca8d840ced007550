/**
 * Mid-call takeover, end to end behind the pipeline's input port: real recordings of two real
 * people (Debian's pocketsphinx-testdata LibriVox reader and asterisk's "Allison"), Opus RTP
 * through the real media and inference worker threads, the shipped speaker-embedding model
 * (detectors/models/speaker-embed, a port of resemblyzer's GE2E encoder) and the verdict.
 * Checked: a call that stays with one voice raises nothing; when the second voice takes over
 * the line, the verdict turns `suspicious` with reason `takeover:voice`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisPipeline } from '../../pipeline/AnalysisPipeline.js';
import { PacketSource } from '../../pipeline/testing/PacketSource.js';
import { encodeOpus, packetise } from '../../pipeline/testing/audioSupport.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';
import type { Verdict } from '../../pipeline/verdict/ParticipantVerdict.js';
import { loadSpeaker, missingRealSpeech, realSpeakerSources, sessionRecording } from '../../challenge-response/testing/realSpeech.js';
import { repoRoot } from '../../kernel/paths.js';
import { removeDir, testModelsDir } from '../helpers/models.js';

async function until(what: string, cond: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const concat = (xs: Float32Array[]): Float32Array => {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};

describe('mid-call takeover (real voices, real speaker model, real worker threads)', () => {
  let pipeline: AnalysisPipeline;
  let modelsDir: string;
  let reader: Float32Array;
  /** Other utterances of the same reader (not the ones the call started with). */
  let readerMore: Float32Array;
  let allison: Float32Array;

  beforeAll(async () => {
    const missing = missingRealSpeech();
    if (missing.length > 0) throw new Error(missing.join('; '));
    const [r, a] = realSpeakerSources.map((s) => loadSpeaker(s));
    reader = concat(r!.baseline);
    readerMore = concat(r!.source.responses.map((u) => sessionRecording(r!.source, u)));
    allison = concat(a!.baseline);
    modelsDir = testModelsDir();
    fs.cpSync(path.join(repoRoot, 'detectors/models/speaker-embed'), path.join(modelsDir, 'speaker-embed'), { recursive: true });
    pipeline = await AnalysisPipeline.create({ modelsDir, media: { faceAnalysis: false }, tickMs: 60_000 });
    expect(pipeline.inference.detectors().map((d) => d.task)).toContain('speaker-embed');
  });

  afterAll(async () => {
    await pipeline?.close();
    removeDir(modelsDir);
  });

  const call = (peerId: string): { source: PacketSource; verdicts: Verdict[]; embeddings: () => number } => {
    const source = new PacketSource({ id: `src-${peerId}`, roomId: 'tk', peerId, producerId: `p-${peerId}`, kind: 'audio', codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {} } });
    const verdicts: Verdict[] = [];
    let n = 0;
    pipeline.on('verdict', (v) => {
      if (v.peerId === peerId) verdicts.push(v);
    });
    pipeline.inference.on('embedding', (e) => {
      if (e.stream.peerId === peerId) n++;
    });
    pipeline.addSource(source);
    return { source, verdicts, embeddings: () => n };
  };

  /** 16 kHz speech -> 48 kHz -> Opus RTP packets, timestamps following on from `firstTimestamp`. */
  const rtp = (x16k: Float32Array, firstSeq: number, firstTimestamp: number): Buffer[] =>
    packetise(encodeOpus(resampleClip(x16k, 16000, 48000)), { payloadType: 111, firstSeq, firstTimestamp }).map((p) => p.bytes);

  it('one voice all along raises no takeover; a second voice taking over the line does', async () => {
    const single = call('single');
    const spliced = call('spliced');
    await Promise.all([single.source.whenResumed(), spliced.source.whenResumed()]);

    // Both calls start with the reader (about 12 s of speech: enrolment plus a few checked windows).
    const first = rtp(reader, 1000, 90000);
    await Promise.all([single.source.stream(first), spliced.source.stream(first)]);
    await until('the reader windows embedded on both calls', () => single.embeddings() >= 8 && spliced.embeddings() >= 8);
    const readerWindows = spliced.embeddings();
    expect(pipeline.participant('tk', 'spliced')!.takeovers).toBe(0);

    // The single-voice call goes on with other sentences of the same reader (recordings it has not heard yet);
    // the other call is taken over by a different person.
    const ts = 90000 + Math.ceil((reader.length * 3) / 960) * 960 + 48000;
    const more = rtp(readerMore, 1000 + first.length + 10, ts);
    await Promise.all([single.source.stream(more), spliced.source.stream(rtp(allison, 1000 + first.length + 10, ts))]);
    await until('a takeover verdict', () => spliced.verdicts.some((v) => v.reason === 'takeover:voice'));
    const expectMore = Math.floor(readerMore.length / 16000) - 2;
    await until('the single-voice call fully embedded', () => single.embeddings() >= readerWindows + expectMore);

    const tk = spliced.verdicts.find((v) => v.reason === 'takeover:voice')!;
    expect(tk.state).toBe('suspicious');
    // The verdict names the speaker model and the embeddings it had (verdict.models).
    const speaker = pipeline.inference.detectors().find((d) => d.task === 'speaker-embed')!;
    const listed = tk.models.find((m) => m.id === speaker.id);
    expect(listed?.version).toBe(speaker.version);
    expect(listed?.windows).toBeGreaterThan(0);
    expect(pipeline.participant('tk', 'spliced')!.takeovers).toBeGreaterThanOrEqual(1);
    expect(pipeline.participant('tk', 'single')!.takeovers).toBe(0);
    expect(single.verdicts.some((v) => v.reason === 'takeover:voice')).toBe(false);
    process.stdout.write(`${JSON.stringify({ test: 'takeover-e2e', readerWindows, singleWindows: single.embeddings(), splicedWindows: spliced.embeddings(), takeovers: pipeline.participant('tk', 'spliced')!.takeovers })}\n`);
    single.source.close();
    spliced.source.close();
  }, 240_000);
});
