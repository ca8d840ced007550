/**
 * A test service with its SIP server on, every event it publishes collected, and real baresip
 * phones that call it with real speech (a LibriVox reader made into a WAV by
 * ingest/testing/phoneSpeech.ts). `close()` hangs up every phone and removes what the bed made,
 * the models folder included (the bed owns it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService } from './service.js';
import { removeDir } from './models.js';
import { untilValue } from './until.js';
import { startBaresip, type BaresipPhone } from './baresip.js';
import type { Config } from '../../src/config.js';
import type { Service } from '../../src/Service.js';
import type { DfdEvent } from '../../events/schema.js';
import type { SipCall } from '../../ingest/sip/SipCall.js';
import { writePhoneSpeechWav } from '../../ingest/testing/phoneSpeech.js';

/** The tenant and digest password the bed's phones call with. */
export const SIP_TENANT = 'acme';
export const SIP_KEY = 'acme-sip-key-0123456789';

export interface SipDial {
  /** The WAV's sample rate (and baresip's audio devices): 8000 for G.711, 16000 for G.722, 48000 for Opus. */
  rate: 8000 | 16000 | 48000;
  /** Codecs baresip offers (its names, e.g. "G722/16000/1"; default PCMU). */
  codecs?: string[];
}

export interface SipTestBed {
  service: Service;
  events: DfdEvent[];
  phones: BaresipPhone[];
  /** A phone calls sip:screen@ the service; resolves with the answered call (baresip's output in the error if not). */
  dial(d: SipDial): Promise<{ phone: BaresipPhone; call: SipCall }>;
  /** The phone hangs up (BYE); resolves once the call and its room ended. */
  hangUp(phone: BaresipPhone, roomId: string): Promise<void>;
  close(): Promise<void>;
}

/** `modelsDir` becomes the bed's; `config` is laid over the SIP settings (RTP ports `rtpPorts`, 1000 of them). */
export async function startSipTestBed(modelsDir: string, rtpPorts: number, config: Partial<Config> = {}): Promise<SipTestBed> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-sip-bed-'));
  const events: DfdEvent[] = [];
  const phones: BaresipPhone[] = [];
  let service: Service;
  try {
    service = await startTestService(
      { modelsDir, ingestKeys: [`${SIP_TENANT}=${SIP_KEY}`], sipHost: '127.0.0.1', sipRtpMinPort: rtpPorts, sipRtpMaxPort: rtpPorts + 999, ...config },
      { events: true, analysis: true },
    );
  } catch (e) {
    removeDir(modelsDir);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  service.bus!.subscribe({}, (e) => {
    events.push(e);
  });
  const sip = service.sip!;
  return {
    service,
    events,
    phones,
    async dial({ rate, codecs }) {
      const wav = path.join(tmp, `speech${rate}.wav`);
      // About 40 s of real speech (the three clips twice), mono 16-bit.
      if (!fs.existsSync(wav)) writePhoneSpeechWav(wav, rate, 2);
      const phone = startBaresip({ target: `sip:screen@127.0.0.1:${sip.port}`, user: SIP_TENANT, password: SIP_KEY, wav, sampleRate: rate, ...(codecs ? { codecs } : {}) });
      phones.push(phone);
      const call = await untilValue('the SIP call answered', () => sip.calls()[0], 30_000).catch((e: unknown) => {
        throw new Error(`${String(e)}\nbaresip said:\n${phone.output().slice(-3000)}`);
      });
      return { phone, call };
    },
    async hangUp(phone, roomId) {
      await phone.stop();
      await untilValue('the call ended', () => (sip.calls().length === 0 && !service.rooms.get(roomId) ? true : undefined), 20_000);
    },
    async close() {
      for (const p of phones) await p.stop();
      await service.close();
      removeDir(modelsDir);
      fs.rmSync(tmp, { recursive: true, force: true });
      for (const p of phones) fs.rmSync(p.dir, { recursive: true, force: true });
    },
  };
}
