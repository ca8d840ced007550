/**
 * Metrics of the phone ingest endpoints, labelled by platform ("twilio", "audiohook").
 * Every refused frame is counted by its error code, so a misbehaving sender shows up in
 * Grafana without reading logs.
 */
import { counter, gauge } from '../kernel/metrics.js';

export const ingestMetrics = {
  frames: counter<'platform' | 'event'>({ name: 'dfd_ingest_frames_total', help: 'Ingest frames accepted, by platform and event', labelNames: ['platform', 'event'] }),
  frameErrors: counter<'platform' | 'code' | 'fatal'>({
    name: 'dfd_ingest_frame_errors_total',
    help: 'Ingest frames refused, by platform and error code; fatal="true" ended the stream',
    labelNames: ['platform', 'code', 'fatal'],
  }),
  streams: gauge<'platform'>({ name: 'dfd_ingest_streams', help: 'Open ingest streams (WebSockets)', labelNames: ['platform'] }),
  ended: counter<'platform' | 'reason'>({ name: 'dfd_ingest_streams_ended_total', help: 'Ingest streams ended, by reason (stop, socket-closed, or the error code)', labelNames: ['platform', 'reason'] }),
  dropped: counter<'platform' | 'reason'>({
    name: 'dfd_ingest_media_dropped_total',
    help: 'Valid media chunks not analysed: outbound-track or agent-channel (agent audio, not analysed yet), held-overflow (while the call opened), paused (AudioHook audio while paused), client-discarded (AudioHook discarded notices)',
    labelNames: ['platform', 'reason'],
  }),
  sequenceGaps: counter<'platform'>({ name: 'dfd_ingest_sequence_gaps_total', help: 'Messages missing in the sequence numbers of ingest streams', labelNames: ['platform'] }),
};
