/**
 * The three vitest projects (vitest.config.ts), by what a test starts:
 *
 *   unit         pure code in one process: no child process, worker thread, socket, server,
 *                browser or model session (`npm run test:unit`, a few seconds)
 *   integration  one real part at a time: a nats-server, a mediasoup worker, worker threads,
 *                onnxruntime sessions, ffmpeg/sox, an HTTP or WebSocket server (`npm run test:integration`)
 *   e2e          the whole service with real clients: Chromium, phone-protocol clients, NATS
 *                subscribers (`npm run test:e2e`)
 *
 * `npm test` runs all three. test/projects.test.ts checks that no file listed as unit starts any
 * of those things, so a new test lands in the right project.
 */

export const E2E = ['test/e2e/**/*.test.ts', 'test/start.test.ts'];

/** Tests that start one real part (see above), file by file. */
export const INTEGRATION = [
  'api/rest.fuzz.test.ts',
  'api/routes.test.ts',
  'challenge-response/checkers/realSpeech.test.ts',
  'challenge-response/checkers/clonesRealSpeech.test.ts',
  'cluster/remote.test.ts',
  'cluster/RoomPlacement.test.ts',
  'cluster/ActionRelay.test.ts',
  'decision/calibration/TenantCalibrationStore.test.ts',
  'challenge-response/checkers/videoOcclusion.test.ts',
  'challenge-response/checkers/videoRendered.test.ts',
  'challenge-response/dsp/AnalysisWorker.test.ts',
  'challenge-response/prompt/prompt.test.ts',
  'deploy/grafana/dashboard.test.ts',
  'deploy/k8s/kustomize.test.ts',
  'deploy/nats/natsServerConf.test.ts',
  'detectors/eval/channel.test.ts',
  'detectors/eval/cli.test.ts',
  'detectors/eval/drift.test.ts',
  'detectors/face/RegionVisibility.test.ts',
  'detectors/face/face.test.ts',
  'detectors/face/testing/renderPose.test.ts',
  'detectors/models/face-antispoof/model.test.ts',
  'detectors/models/face-embed/model.test.ts',
  'detectors/models/face-forgery/model.test.ts',
  'detectors/models/face-liveness/model.test.ts',
  'detectors/models/speaker-embed/model.test.ts',
  'detectors/models/voice-antispoof/model.test.ts',
  'detectors/models/voice-whisper/model.test.ts',
  'detectors/registry/ModelRegistry.test.ts',
  'detectors/registry/models.fuzz.test.ts',
  'kernel/SupervisedWorker.test.ts',
  'kernel/threadPriority.test.ts',
  'detectors/registry/openModelSession.test.ts',
  'detectors/testing/testModels.test.ts',
  'detectors/training/face/pretrained/pretrained.test.ts',
  'detectors/training/training.test.ts',
  'events/AnchorStore.test.ts',
  'events/AuditLog.test.ts',
  'events/EventBus.test.ts',
  'events/NatsServerProcess.test.ts',
  'events/Webhooks.test.ts',
  'events/ensureStream.test.ts',
  'events/fullStore.test.ts',
  'events/events.fuzz.test.ts',
  'ingest/PcmuRtpWriter.test.ts',
  'kernel/http/HttpServer.test.ts',
  'ingest/telephoneChannel.test.ts',
  'ingest/twilio/TwilioIngestServer.test.ts',
  'load-tests/bench.test.ts',
  'pipeline/AnalysisPipeline.test.ts',
  'pipeline/audio/AudioStreamProcessor.test.ts',
  'pipeline/audio/G711.test.ts',
  'pipeline/audio/G722.test.ts',
  'pipeline/audio/G722Stream.test.ts',
  'pipeline/audio/SileroVad.test.ts',
  'pipeline/audio/audioCodec.test.ts',
  'pipeline/audio/opus.fuzz.test.ts',
  'pipeline/inference/InferencePool.test.ts',
  'pipeline/media/MediaWorkerPool.test.ts',
  'pipeline/video/FaceWindower.test.ts',
  'pipeline/video/FfmpegVp8Decoder.test.ts',
  'pipeline/video/IvfWriter.test.ts',
  'pipeline/video/VideoStreamProcessor.test.ts',
  'sfu/Room.test.ts',
  'sfu/WorkerPool.test.ts',
  'sfu/signalling/SignallingServer.test.ts',
  'sfu/signalling/heartbeat.test.ts',
  'sfu/signalling/shutdown.test.ts',
  'sfu/signalling/signalling.fuzz.test.ts',
  'src/readTls.test.ts',
];
