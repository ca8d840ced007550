/**
 * The signalling protocol: JSON over WebSocket. Every client message is a request
 *   { "type": "request", "id": <int>, "method": <string>, "data": {...} }
 * answered by exactly one response
 *   { "type": "response", "id": <same>, "ok": true, "data": {...} }
 *   { "type": "response", "id": <same>, "ok": false, "error": { "code": "ERR_...", "message": "..." } }
 * The server also sends notifications { "type": "notification", "method": <string>, "data": {...} }.
 * docs/signalling.md documents every method; the schemas below are the source of truth.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { IdPattern } from '../tokens.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });
/** mediasoup validates the inner structure of these; we bound their shape and size. */
const OpaqueObject = Type.Object({}, { additionalProperties: true });
const Kind = Type.Union([Type.Literal('audio'), Type.Literal('video')]);

export const RequestEnvelope = Type.Object(
  {
    type: Type.Literal('request'),
    id: Type.Integer({ minimum: 0, maximum: 2 ** 31 }),
    method: Type.String({ minLength: 1, maxLength: 64 }),
    data: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);
export type RequestEnvelope = Static<typeof RequestEnvelope>;

export const methods = {
  /** First message. The token names room, peer, display name and role. */
  join: Type.Object({ token: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
  /** The device's RTP capabilities (after loading the router's). Required before consuming. */
  setRtpCapabilities: Type.Object({ rtpCapabilities: OpaqueObject }, { additionalProperties: false }),
  createWebRtcTransport: Type.Object({ direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]) }, { additionalProperties: false }),
  connectWebRtcTransport: Type.Object({ transportId: Id, dtlsParameters: OpaqueObject }, { additionalProperties: false }),
  /**
   * `noiseSuppression` (audio): whether the client's noise suppressor runs on the track
   * (MediaStreamTrack.getSettings().noiseSuppression); absent, the room assumes it does.
   */
  produce: Type.Object({ transportId: Id, kind: Kind, rtpParameters: OpaqueObject, noiseSuppression: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  consume: Type.Object({ transportId: Id, producerId: Id }, { additionalProperties: false }),
  resumeConsumer: Type.Object({ consumerId: Id }, { additionalProperties: false }),
  pauseConsumer: Type.Object({ consumerId: Id }, { additionalProperties: false }),
  pauseProducer: Type.Object({ producerId: Id }, { additionalProperties: false }),
  resumeProducer: Type.Object({ producerId: Id }, { additionalProperties: false }),
  closeProducer: Type.Object({ producerId: Id }, { additionalProperties: false }),
  leave: Type.Object({}, { additionalProperties: false }),
} satisfies Record<string, TSchema>;

export type MethodName = keyof typeof methods;
export type MethodData<M extends MethodName> = Static<(typeof methods)[M]>;

/** Notifications the server sends. */
export type NotificationName =
  | 'peerJoined'
  | 'peerLeft'
  | 'newProducer'
  | 'producerClosed'
  | 'consumerClosed'
  | 'roomClosed'
  | 'verdict'
  | 'challenge'
  /** The service is stopping: the call is about to end; joins are refused (ERR_SHUTTING_DOWN) until it is back. */
  | 'serviceShutdown';

export const idPattern = new RegExp(IdPattern);
