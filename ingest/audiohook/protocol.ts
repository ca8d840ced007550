/**
 * The Genesys Cloud AudioHook wire format (protocol version 2), as Genesys documents it
 * (developer.genesys.cloud, "AudioHook protocol"), for the AudioHook Monitor client.
 *
 * The client (Genesys) opens the WebSocket with HTTP headers `X-API-KEY`, `Audiohook-Session-Id`
 * (a UUID), `Audiohook-Organization-Id` and `Audiohook-Correlation-Id`. Text frames are JSON
 * messages; binary frames are audio.
 *
 * Every message: { version: "2", id: <session UUID>, type, seq, parameters }.
 *   client messages add `serverseq` (last server seq seen) and `position` (audio position,
 *   ISO 8601 duration "PT12.34S"); server messages add `clientseq` (last client seq seen).
 *   `seq` starts at 1 on each side and goes up by exactly one per message.
 *
 * Client -> server:
 *   open      { organizationId, conversationId, participant: { id, ani, aniName, dnis },
 *               media: [ { type: "audio", format: "PCMU" | "L16", channels: ["external"?, "internal"?], rate: 8000 } ],
 *               language?, customConfig?, continuedSessions?, supportedLanguages? }
 *   ping      { rtt? }                                  -> pong {}
 *   update    { language }                              -> updated {}
 *   paused    {}      resumed { start, discarded }      (audio paused, e.g. hold or secure pause)
 *   discarded { start, discarded }                      (audio the client dropped)
 *   error     { code, message, retryAfter? }
 *   close     { reason: "end" | "error" | "disconnect" | "reconnect" }    -> closed {}
 * Server -> client:
 *   opened { media: [the one chosen], startPaused? }   pong   updated   closed
 *   disconnect { reason: "completed" | "unauthorized" | "error", info? }
 *   pause, resume (requests)
 *
 * Audio: each binary frame is PCMU (one byte per sample) at 8 kHz; with two channels the
 * bytes interleave external (the customer) and internal (the agent), external first.
 */
import { Type, type Static } from '@sinclair/typebox';

export const AUDIOHOOK_VERSION = '2';

const UuidPattern = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const UUID_RE = new RegExp(UuidPattern);
const Uuid = Type.String({ pattern: UuidPattern });
const Seq = Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 });
/** ISO 8601 duration in seconds, as AudioHook writes it: "PT0S", "PT12.345S". */
export const DURATION_RE = /^PT(\d{1,12}(?:\.\d{1,9})?)S$/;
const Duration = Type.String({ pattern: DURATION_RE.source });
const Params = <T extends Parameters<typeof Type.Object>[0]>(props: T) => Type.Object(props, { additionalProperties: true });

export const MediaChannel = Type.Union([Type.Literal('external'), Type.Literal('internal')]);
export const MediaParameter = Type.Object({
  type: Type.String({ maxLength: 16 }),
  format: Type.String({ maxLength: 16 }),
  channels: Type.Array(MediaChannel, { minItems: 1, maxItems: 2, uniqueItems: true }),
  rate: Type.Number(),
});

const clientBase = {
  version: Type.Literal(AUDIOHOOK_VERSION),
  id: Uuid,
  seq: Seq,
  serverseq: Seq,
  position: Duration,
};

const msg = <T extends string, P extends ReturnType<typeof Params>>(type: T, parameters: P) => Type.Object({ ...clientBase, type: Type.Literal(type), parameters });

export const clientSchemas = {
  open: msg(
    'open',
    Params({
      organizationId: Uuid,
      conversationId: Uuid,
      participant: Type.Object({
        id: Type.String({ maxLength: 64 }),
        ani: Type.String({ maxLength: 64 }),
        aniName: Type.String({ maxLength: 128 }),
        dnis: Type.String({ maxLength: 64 }),
      }),
      media: Type.Array(MediaParameter, { minItems: 1, maxItems: 16 }),
      language: Type.Optional(Type.String({ maxLength: 32 })),
    }),
  ),
  ping: msg('ping', Params({ rtt: Type.Optional(Duration) })),
  update: msg('update', Params({ language: Type.Optional(Type.String({ maxLength: 32 })) })),
  paused: msg('paused', Params({})),
  resumed: msg('resumed', Params({ start: Type.Optional(Duration), discarded: Type.Optional(Duration) })),
  discarded: msg('discarded', Params({ start: Duration, discarded: Duration })),
  error: msg('error', Params({ code: Type.Integer({ minimum: 100, maximum: 599 }), message: Type.String({ maxLength: 1024 }), retryAfter: Type.Optional(Duration) })),
  close: msg('close', Params({ reason: Type.String({ maxLength: 32 }) })),
} as const;

export type ClientType = keyof typeof clientSchemas;
export type ClientMessage = { [K in ClientType]: Static<(typeof clientSchemas)[K]> }[ClientType];
export type ClientMessageOf<K extends ClientType> = Static<(typeof clientSchemas)[K]>;
export type AudioHookMedia = Static<typeof MediaParameter>;

export type DisconnectReason = 'completed' | 'unauthorized' | 'error';

/** Server -> client. */
export type ServerMessage = {
  version: typeof AUDIOHOOK_VERSION;
  id: string;
  seq: number;
  clientseq: number;
} & (
  | { type: 'opened'; parameters: { media: AudioHookMedia[]; startPaused?: boolean } }
  | { type: 'pong'; parameters: Record<string, never> }
  | { type: 'updated'; parameters: Record<string, never> }
  | { type: 'closed'; parameters: Record<string, never> }
  | { type: 'pause'; parameters: Record<string, never> }
  | { type: 'resume'; parameters: Record<string, never> }
  | { type: 'disconnect'; parameters: { reason: DisconnectReason; info?: string } }
);

export type ServerType = ServerMessage['type'];

/** The HTTP headers of the upgrade request. */
export const AUDIOHOOK_HEADERS = {
  apiKey: 'x-api-key',
  sessionId: 'audiohook-session-id',
  organizationId: 'audiohook-organization-id',
  correlationId: 'audiohook-correlation-id',
} as const;

/** "PT12.345S" -> 12345 (ms). */
export function durationMs(d: string): number {
  const m = DURATION_RE.exec(d);
  if (!m) throw new RangeError(`not an AudioHook duration: ${d.slice(0, 32)}`);
  return Math.round(Number(m[1]) * 1000);
}

/** 12345 (ms) -> "PT12.345S". */
export function formatDuration(ms: number): string {
  return `PT${(Math.max(0, ms) / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;
}
