/**
 * One SIP call (a dialog) as phone legs of the service: each audio stream of the INVITE is a
 * leg in the call's own room, fed from its own RtpEndpoint:
 *
 *   plain call:  one stream  -> peer "caller"; challenge prompts go back to it as RTP
 *   SIPREC:      two streams -> peers "caller" and "agent" (roles from the recording metadata);
 *                the recorder cannot speak into the call: challenges go to the agent (dashboard)
 *
 *   RtpEndpoint 'media' (PCMU as is, PCMA transcoded to PCMU) -> PhoneLeg.push (sequence number
 *   as chunk, RTP time in ms) -> DirectTransport producer -> tap -> pipeline, as Twilio calls.
 *
 * A re-INVITE updates where media goes and the direction (hold); close() ends the legs, the
 * endpoints and the room. The call owns nothing of the SIP transaction layer (SipServer).
 */
import { createHash } from 'node:crypto';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { createLogger } from '../../kernel/log.js';
import { aLawToMuLaw } from '../../pipeline/audio/G711A.js';
import { AgentPromptSink } from '../../challenge-response/prompt/AgentPromptSink.js';
import type { PromptSink } from '../../challenge-response/prompt/PromptSink.js';
import { PhoneLeg } from '../PhoneLeg.js';
import type { PhoneSessionDeps } from '../PhoneSessionDeps.js';
import { RtpEndpoint } from './RtpEndpoint.js';
import { SipPromptSink, type SipPromptCodec } from './SipPromptSink.js';
import type { AudioOffer, SdpCodec } from './sdpOffer.js';

const log = createLogger('ingest.sip.call');

export type SipLegRole = 'caller' | 'agent';

export interface SipStreamPlan {
  role: SipLegRole;
  offer: AudioOffer;
  codec: SdpCodec;
}

export interface SipCallOptions {
  callId: string;
  tenant: string | undefined;
  recording: boolean;
  streams: SipStreamPlan[];
  rtp: { host: string; announcedIp: string; minPort: number; maxPort: number };
  jumpMs: number;
}

export interface SipCallEvents {
  /** The room closed under the call (shutdown, worker died). */
  roomclosed: [reason: string];
}

interface OpenStream {
  plan: SipStreamPlan;
  endpoint: RtpEndpoint;
  leg: PhoneLeg;
  sink: PromptSink | undefined;
  detach: (() => void) | undefined;
}

/** The room of a SIP call: `sip-` and 20 hex digits of the Call-ID's SHA-256 (Call-IDs may hold any characters). */
export function sipRoomId(callId: string): string {
  return `sip-${createHash('sha256').update(callId).digest('hex').slice(0, 20)}`;
}

/** The Call-ID as the events' platformCallId when it fits their pattern, else undefined (the room id still names the call). */
export function platformCallId(callId: string): string | undefined {
  return /^[A-Za-z0-9_.:@-]{1,128}$/.test(callId) ? callId : undefined;
}

/** The codec prompts are played in: the call's own. */
function promptCodec(c: SipStreamPlan['codec']): SipPromptCodec {
  const n = c.name.toUpperCase();
  if (n === 'OPUS') return { name: 'opus', payloadType: c.payloadType };
  if (n === 'G722') return { name: 'G722', payloadType: c.payloadType };
  return { name: n === 'PCMA' ? 'PCMA' : 'PCMU', payloadType: c.payloadType };
}

export class SipCall extends TypedEmitter<SipCallEvents> {
  readonly options: SipCallOptions;
  readonly roomId: string;
  readonly #streams: OpenStream[];
  #closed = false;

  private constructor(options: SipCallOptions, streams: OpenStream[]) {
    super();
    this.options = options;
    this.roomId = sipRoomId(options.callId);
    this.#streams = streams;
  }

  /** Opens an RTP endpoint and a phone leg per stream (room claimed by the caller of open()). */
  static async open(deps: PhoneSessionDeps, options: SipCallOptions): Promise<SipCall> {
    const roomId = sipRoomId(options.callId);
    const opened: OpenStream[] = [];
    try {
      for (const plan of options.streams) {
        const pt = plan.codec.payloadType;
        const endpoint = await RtpEndpoint.open({
          host: options.rtp.host,
          minPort: options.rtp.minPort,
          maxPort: options.rtp.maxPort,
          payloadType: pt,
          telephoneEventPt: plan.offer.telephoneEventPt,
          maxPacketBytes: 1500,
        });
        endpoint.setRemote(plan.offer.connectionIp, plan.offer.port);
        let leg: PhoneLeg;
        try {
          const upper = plan.codec.name.toUpperCase();
          const passThrough = upper === 'OPUS' ? ('audio/opus' as const) : upper === 'G722' ? ('audio/G722' as const) : undefined;
          leg = await PhoneLeg.open(deps.rooms, {
            ...(passThrough ? { codec: { mimeType: passThrough, payloadType: pt } } : {}),
            roomId,
            ...(options.tenant ? { tenant: options.tenant } : {}),
            peerId: plan.role,
            displayName: plan.role === 'caller' ? 'Caller' : 'Agent',
            jumpMs: options.jumpMs,
            shareRoom: opened.length > 0,
          });
        } catch (e) {
          endpoint.close();
          throw e;
        }
        const name = plan.codec.name.toUpperCase();
        const mu = new Uint8Array(1500);
        const theLeg = leg;
        endpoint.on('media', (m) => {
          // Opus and G.722 go through as the far end sent them; G.711 A-law is transcoded to the mu-law the pipeline decodes.
          if (name === 'OPUS' || name === 'G722') theLeg.forward(m.packet);
          else theLeg.push(name === 'PCMA' ? aLawToMuLaw(m.payload, mu) : m.payload, m.seq, m.timestamp / 8);
        });
        opened.push({ plan, endpoint, leg, sink: undefined, detach: undefined });
      }
    } catch (e) {
      for (const s of opened) {
        s.endpoint.close();
        s.leg.close();
      }
      throw e;
    }
    const call = new SipCall(options, opened);
    for (const s of opened) {
      s.leg.on('roomclosed', (reason) => call.#onRoomClosed(reason));
      if (s.plan.role !== 'caller') continue;
      // A plain call hears its prompts; a recording (SIPREC) cannot speak into the call: the agent relays them.
      s.sink = options.recording ? new AgentPromptSink() : new SipPromptSink((p) => s.endpoint.send(p), { codec: promptCodec(s.plan.codec) });
      s.detach = deps.challenges()?.attachPhoneLeg(roomId, s.leg.peerId, s.sink);
      deps.onLeg?.(s.leg, { platform: 'sip', ...(platformCallId(options.callId) ? { platformCallId: platformCallId(options.callId)! } : {}), ...(options.tenant ? { tenant: options.tenant } : {}) });
    }
    return call;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Per stream: the local RTP port (for the SDP answer), in the offer's order. */
  get localPorts(): number[] {
    return this.#streams.map((s) => s.endpoint.port);
  }

  get streams(): readonly { role: SipLegRole; port: number; received: number; sent: number; codec: string }[] {
    return this.#streams.map((s) => ({ role: s.plan.role, port: s.endpoint.port, received: s.endpoint.received, sent: s.endpoint.sent, codec: s.plan.codec.name }));
  }

  /** Per stream: what was negotiated (the offer it answered, its codec), in the offer's order. */
  get plans(): SipStreamPlan[] {
    return this.#streams.map((s) => s.plan);
  }

  /** Per stream: the codec negotiated (what a re-INVITE's answer keeps). */
  get codecs(): SipStreamPlan['codec'][] {
    return this.#streams.map((s) => s.plan.codec);
  }

  /** A re-INVITE: new far-end addresses (until media from the far end has been seen) and directions. */
  update(offers: (AudioOffer | undefined)[]): void {
    offers.forEach((o, i) => {
      const s = this.#streams[i];
      if (!s || !o) return;
      s.plan = { ...s.plan, offer: o };
      if (o.port > 0) s.endpoint.setRemote(o.connectionIp, o.port);
    });
  }

  /** Ends the call: prompts stop, legs leave, endpoints close, the room closes. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#streams) {
      s.detach?.();
      if (s.sink instanceof SipPromptSink || s.sink instanceof AgentPromptSink) s.sink.close();
      s.endpoint.close();
      s.leg.close();
    }
    log.debug('sip call closed', { roomId: this.roomId, reason });
    this.removeAllListeners();
  }

  #onRoomClosed(reason: string): void {
    if (this.#closed) return;
    this.safeEmit('roomclosed', reason);
  }
}
