/**
 * The one typed configuration module. Every setting is an environment variable with a
 * documented default; `configTable()` renders the README table from the same source.
 */
import path from 'node:path';
import { DEFAULT_TENANT, TENANT_RE } from '../kernel/tenant.js';
import { DfdError } from '../kernel/errors.js';
import { repoRoot } from '../kernel/paths.js';
import { LOG_LEVELS } from '../kernel/log.js';
import { readCpuBudget } from '../kernel/cpuBudget.js';

export { repoRoot };

type Parser<T> = (raw: string, name: string) => T;

/** The largest DFD_MEDIASOUP_WORKERS / DFD_AUDIO_WORKERS a setting may give, and the cap on the automatic (0) sizes. */
const MAX_MEDIASOUP_WORKERS = 256;
const MAX_AUDIO_WORKERS = 64;

const int = (min: number, max: number): Parser<number> => (raw, name) => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new DfdError('ERR_CONFIG', `${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  return v;
};
const num = (min: number, max: number): Parser<number> => (raw, name) => {
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new DfdError('ERR_CONFIG', `${name} must be a number in [${min}, ${max}], got "${raw}"`);
  return v;
};
const str: Parser<string> = (raw) => raw;
/** Empty: undefined (the default comes from elsewhere, e.g. a model manifest); else an integer in range. */
const optInt = (min: number, max: number): Parser<number | undefined> => (raw, name) => (raw === '' ? undefined : int(min, max)(raw, name));
const bool: Parser<boolean> = (raw, name) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new DfdError('ERR_CONFIG', `${name} must be a boolean, got "${raw}"`);
};
const list: Parser<string[]> = (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean);
/** Detector model ids (the folder names under DFD_MODELS_DIR), comma-separated; "none": none. */
const modelIds: Parser<string[]> = (raw, name) => {
  if (raw.trim() === 'none') return [];
  const ids = list(raw, name);
  const bad = ids.find((id) => !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id));
  if (bad !== undefined) throw new DfdError('ERR_CONFIG', `${name} must list model ids like "speaker-embed", got "${bad}"`);
  return ids;
};
/** CPU indices, e.g. "1" or "0,2-3"; empty: none given. */
const cpuList: Parser<number[]> = (raw, name) => {
  const out: number[] = [];
  for (const part of list(raw, name)) {
    const m = /^(\d{1,4})(?:-(\d{1,4}))?$/.exec(part);
    const a = m ? Number(m[1]) : NaN;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || b < a) throw new DfdError('ERR_CONFIG', `${name} must list CPUs like "1" or "0,2-3", got "${raw}"`);
    for (let c = a; c <= b; c++) if (!out.includes(c)) out.push(c);
  }
  return out;
};
/** Where analysis runs: off, in this process's threads, or on analysis workers over NATS (true/false still read as local/off). */
const analysisMode: Parser<'off' | 'local' | 'remote'> = (raw, name) => {
  const v = raw.toLowerCase();
  if (v === 'local' || v === 'remote' || v === 'off') return v;
  return bool(raw, name) ? 'local' : 'off';
};
const tenantId: Parser<string> = (raw, name) => {
  if (!TENANT_RE.test(raw)) throw new DfdError('ERR_CONFIG', `${name} must match [A-Za-z0-9_-]{1,32}, got "${raw}"`);
  return raw;
};
const oneOf = <T extends string>(...values: readonly T[]): Parser<T> => (raw, name) => {
  if (!(values as readonly string[]).includes(raw)) throw new DfdError('ERR_CONFIG', `${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
};

interface Setting<T> {
  env: string;
  default: string;
  doc: string;
  parse: Parser<T>;
}
const s = <T>(env: string, def: string, doc: string, parse: Parser<T>): Setting<T> => ({ env, default: def, doc, parse });

export const settings = {
  host: s('DFD_HOST', '0.0.0.0', 'HTTP/WebSocket listen address', str),
  port: s('DFD_PORT', '8080', 'HTTP/WebSocket port (0 picks a free port)', int(0, 65535)),
  publicUrl: s('DFD_PUBLIC_URL', '', 'Base URL printed at start-up and used in links (default http://localhost:PORT)', str),
  tokenSecret: s('DFD_TOKEN_SECRET', '', 'HMAC secret for join tokens; empty generates a random one per process (demo)', str),
  tokenTtlSec: s('DFD_TOKEN_TTL_SEC', '3600', 'Lifetime of tokens issued by the demo endpoint', int(10, 7 * 86400)),
  demoTokens: s('DFD_DEMO_TOKENS', 'true', 'Serve /v1/demo/token so the meeting page can join without set-up', bool),
  tlsCert: s('DFD_TLS_CERT', '', 'PEM certificate chain file: with DFD_TLS_KEY the service serves HTTPS and WSS only (empty: plain HTTP, for a TLS-terminating proxy or local use)', str),
  tlsKey: s('DFD_TLS_KEY', '', 'PEM private key file for DFD_TLS_CERT', str),
  corsOrigins: s('DFD_CORS_ORIGINS', '', 'Origins (comma separated, e.g. https://crm.example.com) whose pages may call the API and badge stream from the browser; empty: no cross-origin access', list),
  trustProxy: s('DFD_TRUST_PROXY', 'false', 'Take the client address for rate limits and lockout from X-Forwarded-For (only behind a proxy that sets it)', bool),
  authRatePerMin: s('DFD_AUTH_RATE_PER_MIN', '20', 'Sign-in and token requests per client address per minute (burst the same); over it: 429 ERR_RATE_LIMITED', int(1, 1_000_000)),
  joinRatePerMin: s('DFD_JOIN_RATE_PER_MIN', '120', 'Signalling connections, ingest connections and demo tokens per client address per minute (burst the same)', int(1, 1_000_000)),
  loginMaxFailures: s('DFD_LOGIN_MAX_FAILURES', '5', 'Failed operator sign-ins (per user name and per client address) before a lockout', int(1, 1000)),
  loginLockoutSec: s('DFD_LOGIN_LOCKOUT_SEC', '300', 'First lockout; each further lockout of the same address or user name (before 15 min without failures) lasts twice the previous one, up to one day', int(1, 86_400)),
  numWorkers: s('DFD_MEDIASOUP_WORKERS', '0', 'mediasoup workers; 0 = one per CPU the process may use (its CPU affinity and any cgroup CPU quota, e.g. a container\'s limits.cpu, rounded up)', int(0, MAX_MEDIASOUP_WORKERS)),
  workerBin: s('MEDIASOUP_WORKER_BIN', path.join(repoRoot, '.deps/mediasoup-worker/mediasoup-worker'), 'mediasoup-worker binary (installed by the bootstrap)', str),
  listenIp: s('DFD_LISTEN_IP', '127.0.0.1', 'IP the WebRTC transports bind to', str),
  announcedIp: s('DFD_ANNOUNCED_IP', '', 'Public IP announced in ICE candidates (empty: the listen IP)', str),
  rtcMinPort: s('DFD_RTC_MIN_PORT', '40000', 'Lowest UDP/TCP port for WebRTC', int(1024, 65535)),
  rtcMaxPort: s('DFD_RTC_MAX_PORT', '49999', 'Highest UDP/TCP port for WebRTC', int(1024, 65535)),
  maxMessageBytes: s('DFD_MAX_MESSAGE_BYTES', '65536', 'Largest signalling message accepted', int(1024, 1 << 22)),
  maxPeersPerRoom: s('DFD_MAX_PEERS_PER_ROOM', '16', 'Peers per room', int(1, 1000)),
  maxTransportsPerPeer: s('DFD_MAX_TRANSPORTS_PER_PEER', '4', 'WebRTC transports per peer', int(1, 64)),
  maxProducersPerPeer: s('DFD_MAX_PRODUCERS_PER_PEER', '4', 'Producers per peer', int(1, 64)),
  assumeSenderNoiseSuppression: s('DFD_ASSUME_SENDER_NOISE_SUPPRESSION', 'true', 'A WebRTC audio producer whose client does not say whether its noise suppressor runs (the noiseSuppression field of produce) is taken to run one, as getUserMedia does by default: the voice detectors then use their calibration for noise-suppressed senders', bool),
  joinTimeoutMs: s('DFD_JOIN_TIMEOUT_MS', '15000', 'A socket that has not joined by then is closed', int(100, 600000)),
  wsPingIntervalMs: s('DFD_WS_PING_INTERVAL_MS', '10000', 'Signalling heartbeat: the server pings every WebSocket this often (0: no heartbeat)', int(0, 600_000)),
  wsPingMisses: s('DFD_WS_PING_MISSES', '2', 'Pings in a row a signalling WebSocket may leave unanswered; at the next one it is closed and its participant leaves the room (so within (misses + 1) x interval of going silent)', int(1, 100)),
  demoRoom: s('DFD_DEMO_ROOM', 'demo', 'Room created at start-up for the demo', str),
  natsUrl: s('NATS_URL', '', 'NATS server URL(s), comma separated; empty starts an embedded nats-server', list),
  natsUser: s('NATS_USER', '', 'NATS user (with NATS_PASS); with the embedded nats-server, the name of its full-permission service user (empty: "service" with a password generated at each start)', str),
  natsPass: s('NATS_PASS', '', 'NATS password (with the embedded nats-server: the service user\'s)', str),
  natsToken: s('NATS_TOKEN', '', 'NATS auth token (with the embedded nats-server: the only credential it accepts, no reader user)', str),
  roomRegistry: s('DFD_ROOM_REGISTRY', 'off', 'Several service nodes on one NATS: "nats" pins each room to the node that first opened it (JetStream KV bucket DFD_ROOMS), a join reaching another node is answered ERR_WRONG_NODE with the right node\'s URL, a dead node\'s rooms are free again after DFD_ROOM_LEASE_MS; needs NATS_URL and DFD_PUBLIC_URL. "off": every room is local', oneOf('off', 'nats')),
  nodeId: s('DFD_NODE_ID', '', 'This service node\'s id in the room registry (empty: the host name and DFD_PORT)', str),
  roomLeaseMs: s('DFD_ROOM_LEASE_MS', '15000', 'A room whose node stopped refreshing it (crashed, cut off) is free for another node after this long', int(1000, 600_000)),
  jetstreamReplicas: s('DFD_JETSTREAM_REPLICAS', '1', "Copies of the service's JetStream streams and buckets (audit trail, audit anchors, call history) in a NATS cluster: 1 for one nats-server (and the embedded one), 3 for a 3-node cluster, so that losing a node loses no record", int(1, 5)),
  natsReaderPassword: s('DFD_NATS_READER_PASSWORD', '', 'Embedded nats-server: password of the read-only "reader" user (may subscribe to <prefix>.>, publish nothing) for external dashboards and consumers; empty: no such user. An external NATS (NATS_URL) is configured on its own: deploy/nats/', str),
  subjectPrefix: s('DFD_SUBJECT_PREFIX', 'dfd.v1', 'Prefix of every event subject: <prefix>.<room>.<peer>.<type>', str),
  auditMaxAgeDays: s('DFD_AUDIT_MAX_AGE_DAYS', '30', 'Days the JetStream audit trail keeps events (0: until the size limit)', num(0, 3650)),
  dataDir: s('DFD_DATA_DIR', path.join(repoRoot, '.data'), 'Where the embedded NATS keeps its JetStream store', str),
  operatorUser: s('DFD_OPERATOR_USER', 'operator', 'Dashboard/API operator user name', str),
  operatorPassword: s('DFD_OPERATOR_PASSWORD', '', 'Operator password; empty generates one and prints it at start-up', str),
  sessionTtlSec: s('DFD_SESSION_TTL_SEC', '28800', 'Operator session lifetime', int(60, 30 * 86400)),
  analysis: s('DFD_ANALYSIS', 'local', 'Analysis of every tapped stream: "local" (this process\'s worker threads), "remote" (decode and windows here, detector inference on analysis workers started with `npm run worker`, over NATS_URL; docs/scaling.md) or "off" (true/false: local/off)', analysisMode),
  remoteTimeoutMs: s('DFD_REMOTE_TIMEOUT_MS', '2000', 'Remote analysis: a window not scored by a worker in this time is sent again (once) or dropped as remote-timeout', int(50, 60000)),
  remoteMaxInFlight: s('DFD_REMOTE_MAX_IN_FLIGHT', '32', 'Remote analysis: windows awaiting a worker\'s reply at most; more wait in a fair queue (DFD_INFERENCE_QUEUE windows) that thins as the local pool does', int(1, 10000)),
  workerPort: s('DFD_WORKER_PORT', '8090', 'Analysis worker (`npm run worker`): port of its /healthz and /metrics (0 picks a free port)', int(0, 65535)),
  workerMaxPending: s('DFD_WORKER_MAX_PENDING', '256', 'Analysis worker: windows in progress at most; beyond it requests are answered busy and the service sends them to another worker', int(1, 100000)),
  modelsDir: s('DFD_MODELS_DIR', path.join(repoRoot, 'detectors/models'), 'Folder of detector models (one sub-folder per model with manifest.json)', str),
  audioWorkers: s('DFD_AUDIO_WORKERS', '0', 'Audio worker threads (Opus decode, resampling, VAD and, with DFD_INFERENCE_PLACEMENT=media, the voice detectors); 0 = one per CPU the process may use (as DFD_MEDIASOUP_WORKERS)', int(0, MAX_AUDIO_WORKERS)),
  videoWorkers: s('DFD_VIDEO_WORKERS', '1', 'Video worker threads (VP8 decode supervision, face detection and, with DFD_INFERENCE_PLACEMENT=media, the face detectors)', int(1, 64)),
  inferencePlacement: s('DFD_INFERENCE_PLACEMENT', 'media', 'Where the detectors run: "media" (the score detectors in the audio and video worker threads that make the windows, two thread hops from packet to score; the speaker-embedding model on the inference threads) or "threads" (every detector on the inference threads, fed from the main thread and batching across every stream: a GPU machine)', oneOf('media', 'threads')),
  inferenceWorkers: s('DFD_INFERENCE_WORKERS', '1', 'Inference worker threads (onnxruntime sessions): the speaker-embedding model with DFD_INFERENCE_PLACEMENT=media, every detector with "threads"; `npm run worker`: its inference threads', int(1, 64)),
  ortThreads: s('DFD_ORT_THREADS', '1', 'onnxruntime intra-op threads per session', int(1, 64)),
  inferenceQueue: s('DFD_INFERENCE_QUEUE', '128', 'Windows queued per detector before fair thinning drops some', int(1, 100000)),
  inferenceAudioBatch: s('DFD_INFERENCE_AUDIO_BATCH', '8', 'Most voice windows (from different streams) one detector call scores together; a GPU machine wants 32 (docs/performance.md, "GPU path"); batches never wait to fill', int(1, 256)),
  inferenceFaceBatch: s('DFD_INFERENCE_FACE_BATCH', '8', 'Most face crops (across streams) in one detector call, waiting a few ms for a fuller batch; a GPU machine wants 32', int(1, 256)),
  audioWindowSec: s('DFD_AUDIO_WINDOW_SEC', '2', 'Length of a voice analysis window', num(0.5, 10)),
  audioHopSec: s('DFD_AUDIO_HOP_SEC', '1', 'Hop between voice analysis windows', num(0.1, 10)),
  audioFirstWindowSec: s('DFD_AUDIO_FIRST_WINDOW_SEC', '1', 'Length of the early first voice window of a speech segment, scored as soon as 60 % of it is speech so the first verdict does not wait a whole window (0 = none; at most DFD_AUDIO_WINDOW_SEC, at least the voice model\'s minimum)', num(0, 10)),
  ortExecutionProvider: s('DFD_ORT_EP', 'cpu', 'Where the detectors run: "cpu", or "webgpu" (onnxruntime-node\'s bundled GPU backend, Vulkan on Linux; checked on an NVIDIA H100: it pays with batches of 8 or more, DFD_INFERENCE_PLACEMENT=threads; docs/performance.md, "GPU path"). Without a WebGPU adapter the detectors are unavailable (logged with onnxruntime\'s reason), never silently on CPU', oneOf('cpu', 'webgpu')),
  ortCpuModels: s('DFD_ORT_CPU_MODELS', 'speaker-embed', 'With DFD_ORT_EP=webgpu: detector models (ids, comma-separated) whose sessions stay on the CPU. The speaker model\'s LSTM is slower on WebGPU than on one CPU thread at every batch up to 32 (docs/performance.md, "GPU path"); "none": every model on the GPU', modelIds),
  analysisNice: s('DFD_ANALYSIS_NICE', '10', 'Nice value of the analysis threads (media decode and VAD, inference, challenge analysis) and the decoders they start: above the signalling thread and the mediasoup workers, so analysis never delays forwarded media (0 = same priority)', int(0, 19)),
  offPathNice: s('DFD_OFFPATH_NICE', '5', 'Added to DFD_ANALYSIS_NICE for the analysis threads off the score path: the inference threads that embed speakers and run the second voice stage (when the score detectors run in the media workers, DFD_INFERENCE_PLACEMENT=media) and the challenge-response analysis thread. Above 0 they take only the CPU the media workers leave: first-stage scores keep their latency under load, takeovers and second-stage scores come later (0 = the same priority; 5 measured in docs/performance.md)', int(0, 19)),
  analysisSched: s('DFD_ANALYSIS_SCHED', 'normal', 'Scheduling policy of the analysis threads: "normal", "batch" (SCHED_BATCH) or "idle" (SCHED_IDLE: they run only on CPU time that forwarding, signalling and every other normal process leave, so on a shared machine analysis can starve; see docs/performance.md)', oneOf('normal', 'batch', 'idle')),
  analysisCpus: s('DFD_ANALYSIS_CPUS', '', 'CPUs the analysis threads may run on (e.g. "1-7"); empty: any. With DFD_SFU_CPUS this keeps analysis off the cores that forward media', cpuList),
  sfuCpus: s('DFD_SFU_CPUS', '', 'CPUs the mediasoup worker processes may run on (e.g. "0"); empty: any', cpuList),
  sfuNice: s('DFD_SFU_NICE', '0', 'Nice value given to the mediasoup worker processes (negative raises their priority and needs root or CAP_SYS_NICE; refused: a warning, and they keep the default)', int(-20, 19)),
  sfuSched: s('DFD_SFU_SCHED', 'fifo', 'Scheduling policy of the mediasoup worker processes: real time ("fifo", "rr") at DFD_SFU_RT_PRIORITY, so that forwarding wakes at once however busy analysis (or anything else) keeps the CPUs, or "normal". Real time needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority; refused: a warning, and they keep the default. docs/performance.md, "Forwarding delay"', oneOf('normal', 'fifo', 'rr')),
  sfuRtPriority: s('DFD_SFU_RT_PRIORITY', '10', 'Real-time priority (1-99) of the mediasoup workers with DFD_SFU_SCHED=fifo or rr', int(1, 99)),
  minSpeechSec: s('DFD_MIN_SPEECH_SEC', '0.5', 'Speech (VAD) a window needs before it is analysed', num(0, 10)),
  videoFps: s('DFD_VIDEO_FPS', '5', 'Frames per second decoded and analysed per video stream', num(0.5, 30)),
  faceWindowFrames: s('DFD_FACE_WINDOW_FRAMES', '5', 'Face crops per face-forgery window', int(1, 64)),
  faceRedetectEvery: s('DFD_FACE_REDETECT_EVERY', '5', 'Face detector (BlazeFace) on one analysed frame in N per video stream; in between the face mesh follows the face from its previous landmarks, and a lost face, a new frame size or the Nth frame runs the detector again (1: the detector on every frame). Faces other than the followed one are seen on detector frames only', int(1, 300)),
  faceForgeryFrames: s('DFD_FACE_FORGERY_FRAMES', '2', 'Frames of each face window (DFD_FACE_WINDOW_FRAMES) the face-forgery model scores: consecutive, starting further on in each window so every frame position is scored over a few windows (0: every frame). Scoring 2 of 5 moved the held-out AUROC by about a point (less than a training seed does) and cuts that model\'s cost by 60 % (docs/models.md)', int(0, 300)),
  faceAnalysis: s('DFD_FACE_ANALYSIS', 'true', 'Decode video and detect faces', bool),
  padMode: s('DFD_PAD_MODE', 'raise', 'Presentation-attack models (face-antispoof, face-liveness): "raise" lets a confident one make the verdict suspicious, "report" only publishes their scores', oneOf('raise', 'report')),
  padMinPFake: s('DFD_PAD_MIN_PFAKE', '0.9', 'Decayed mean pFake at which a presentation-attack model counts', num(0.5, 0.999)),
  padMaxPFake: s('DFD_PAD_MAX_PFAKE', '0.65', 'The most a presentation-attack model alone lifts the fused pFake to', num(0.01, 0.99)),
  detectorFusion: s('DFD_VERDICT_DETECTOR_FUSION', 'per-detector', 'How the verdict combines the detectors of one modality (the voice stages): "pooled" takes one evidence-weighted mean of every window\'s weighted log-odds; "per-detector" adds each detector\'s own mean at its verdict weight (docs/models.md, "Fusion of the two voice stages")', oneOf('pooled', 'per-detector')),
  voiceCascadeEvery: s('DFD_VOICE_CASCADE_EVERY', '', 'Second voice stage (a model whose manifest has `cascade`, e.g. detectors/models/voice-whisper, about 30 times the first stage\'s cost per window): it scores one speech window in N of each stream. Empty: each stage\'s manifest value (voice-whisper: 8); 0: second stages off (the first stage still scores every window). While the inference queues are backed up a stage yields its windows to the first stage (counted in dfd_cascade_windows_skipped_total{reason="backlog"})', optInt(0, 600)),
  speakerContinuity: s('DFD_SPEAKER_CONTINUITY', 'true', 'Track each voice with the speaker-embedding model (detectors/models/speaker-embed): a different voice mid-call makes the verdict suspicious ("takeover:voice")', bool),
  faceContinuity: s('DFD_FACE_CONTINUITY', 'true', 'Track each face with the face-descriptor model (detectors/models/face-embed): a different person in front of the camera mid-call makes the verdict suspicious ("takeover:face"); needs DFD_FACE_ANALYSIS', bool),
  takeoverHoldMs: s('DFD_TAKEOVER_HOLD_MS', '30000', 'How long a mid-call takeover keeps the verdict suspicious while the new voice or face gathers evidence', int(0, 3_600_000)),
  lagWarnMs: s('DFD_LAG_WARN_MS', '3000', 'Warn when analysis lags real time by more than this', int(10, 600000)),
  challenges: s('DFD_CHALLENGES', 'true', 'Run challenge-response (needs the analysis pipeline)', bool),
  challengeCooldownMs: s('DFD_CHALLENGE_COOLDOWN_MS', '60000', 'Minimum time between automatic challenges of one participant', int(0, 86_400_000)),
  challengeMaxPerCall: s('DFD_CHALLENGE_MAX_PER_CALL', '6', 'Challenges per call at most', int(0, 1000)),
  challengeLeanP: s('DFD_CHALLENGE_LEAN_P', '0.55', 'Weak evidence: a participant whose verdict is likely-genuine with a fused pFake at or above this is challenged automatically, once per call (1 = never). 0.55: on held-out calls at the shipped wideband voice weights (0.2 / 0.1), 7.5 % of genuine speakers and 49 % of spoof calls (detectors/training/voice/README.md, "Decision: a weak-evidence challenge threshold", chosen again by its rule whenever the weights move)', num(0, 1)),
  challengeLeanPTelephone: s('DFD_CHALLENGE_LEAN_P_TELEPHONE', '0.56', 'DFD_CHALLENGE_LEAN_P for a participant whose audio is scored with the telephone calibration (a G.711 phone leg: SIP, Twilio, Genesys), read from its latest audio score (1 = never). 0.56: on held-out phone-leg calls at the shipped phone weights (0.15 / 0.05), 1.1 % of genuine speakers through G.711 as they are, 2.1 % behind a handset-style noise suppressor, 1.6 % / 9.1 % as mobile callers (AMR-NB then G.711) without / with one, 21 % of spoof calls; at 0.55 the suppressed mobile callers would reach 10.7 % (detectors/training/voice/README.md, "Decision: a weak-evidence threshold for phone legs")', num(0, 1)),
  challengeLeanPG722: s('DFD_CHALLENGE_LEAN_P_G722', '0.58', 'DFD_CHALLENGE_LEAN_P for a participant whose audio comes from a G.722 leg (an HD-voice SIP caller: wideband calibration, the manifests\' verdict.weightG722), read from its latest audio score (1 = never). 0.58: on held-out calls through G.722 at the G.722 weights of then (0.3 / 0), 2.7 % of genuine speakers as they are and 4.8 % behind a noise suppressor, 29 % of spoof calls; at the browser\'s 0.55 11 % / 17 % of genuine speakers (detectors/training/voice/README.md, "Decision: a weak-evidence threshold for G.722 legs"). At the G.722 weights since 2026-12-07 (0.05 / 0.1, chosen with VoLTE callers) it challenges 0 / 0 of 187 genuine speakers and 12 % of spoof calls; the rule would now give 0.54 (docs/results/lean-threshold-g722-volte-pair.json), not adopted yet', num(0, 1)),
  challengeLeanPSipOpus: s('DFD_CHALLENGE_LEAN_P_SIP_OPUS', '0.56', 'DFD_CHALLENGE_LEAN_P for a participant whose audio comes from a gateway\'s Opus leg (a SIP or plain-RTP caller, which cannot say whether its far end suppressed noise: wideband calibration, the manifests\' verdict.weightSipOpus), read from its latest audio score (1 = never). 0.56: on held-out calls through Opus 24 kb/s judged so, at the shipped Opus SIP-leg weights (0.2 / 0.05), 3.2 % of genuine speakers as they are and 8.6 % behind a noise suppressor, 35 % of spoof calls; at the browser\'s 0.55 7.0 % / 16 % of genuine speakers (detectors/training/voice/README.md, "Decision: a family of their own for Opus SIP legs")', num(0, 1)),
  challengeHighRisk: s('DFD_CHALLENGE_HIGH_RISK', 'false', 'Treat every call as high risk: besides the challenges a suspicious verdict starts, each participant heard in the last DFD_CHALLENGE_SPOTCHECK_MS is challenged at random (a spot check) with probability DFD_CHALLENGE_SPOTCHECK_P once per that interval; cooldown and the per-call maximum apply', bool),
  challengeSpotCheck: s('DFD_CHALLENGE_SPOTCHECK_P', '0.02', 'Probability of a random spot check of each participant per DFD_CHALLENGE_SPOTCHECK_MS on high-risk calls (DFD_CHALLENGE_HIGH_RISK)', num(0, 1)),
  challengeSpotCheckMs: s('DFD_CHALLENGE_SPOTCHECK_MS', '60000', 'How often each participant of a high-risk call is drawn for a spot check (only participants heard in that time)', int(1000, 86_400_000)),
  challengeVerifiedForMs: s('DFD_CHALLENGE_VERIFIED_FOR_MS', '600000', 'How long a passed challenge keeps a participant "verified"', int(1000, 86_400_000)),
  shutdownTimeoutMs: s('DFD_SHUTDOWN_TIMEOUT_MS', '15000', 'Longest a clean shutdown (SIGTERM, SIGINT or SIGHUP) may take before the process exits with status 1; a second signal exits at once (status 128 + signal)', int(1000, 600_000)),
  ingestTwilio: s('DFD_INGEST_TWILIO', 'true', 'Serve the Twilio Media Streams endpoint (WebSocket) at /v1/ingest/twilio', bool),
  ingestAudiohook: s('DFD_INGEST_AUDIOHOOK', 'true', 'Serve the Genesys AudioHook endpoint (WebSocket) at /v1/ingest/audiohook', bool),
  ingestSip: s('DFD_INGEST_SIP', 'true', 'Run the SIP user agent server (UDP and TCP) for calls from an SBC, PBX or phone (plain calls and SIPREC)', bool),
  sipHost: s('DFD_SIP_HOST', '0.0.0.0', 'Address the SIP server and its RTP ports bind to', str),
  sipPort: s('DFD_SIP_PORT', '5060', 'SIP port, UDP and TCP (0 picks a free port)', int(0, 65535)),
  sipAnnouncedIp: s('DFD_SIP_ANNOUNCED_IP', '', 'Address put in SIP Contact headers and SDP answers (empty: DFD_ANNOUNCED_IP, else 127.0.0.1)', str),
  sipRtpMinPort: s('DFD_SIP_RTP_MIN_PORT', '30000', 'Lowest UDP port for SIP calls\' RTP (even; RTCP on the next port)', int(1024, 65534)),
  sipRtpMaxPort: s('DFD_SIP_RTP_MAX_PORT', '30999', 'Highest UDP port for SIP calls\' RTP and RTCP', int(1025, 65535)),
  sipAuth: s('DFD_SIP_AUTH', 'digest', 'digest: every INVITE authenticates (user = ingest tenant, password = its key from DFD_INGEST_KEYS); allowlist: sources in DFD_SIP_ALLOW are trusted without it (SBCs that do not authenticate)', oneOf('digest', 'allowlist')),
  sipAllow: s('DFD_SIP_ALLOW', '', 'Addresses or CIDRs allowed to send SIP (comma separated); empty: any source (then digest authentication is what protects it)', list),
  sipMaxCalls: s('DFD_SIP_MAX_CALLS', '200', 'SIP calls at once; more are refused with 503', int(1, 100_000)),
  sipRtpTimeoutSec: s('DFD_SIP_RTP_TIMEOUT_SEC', '60', 'A SIP call with no RTP from the far end this long (and not on hold) is ended with a BYE (0: never)', int(0, 86_400)),
  ingestKeys: s('DFD_INGEST_KEYS', '', 'Phone ingest keys, "tenant=key" comma separated (keys of 16 or more characters); empty: one demo key, printed at start-up, while DFD_DEMO_TOKENS is on, else every stream is refused', list),
  apiKeys: s('DFD_API_KEYS', '', 'Tenant API keys for the REST API, "tenant=key" comma separated (keys of 16 or more characters): `Authorization: Bearer <key>` acts as an operator of that tenant only (its rooms, calls, decisions, challenges, calibration; no service-wide route)', list),
  defaultTenant: s('DFD_DEFAULT_TENANT', DEFAULT_TENANT, 'Tenant of rooms, calls and events whose join token names none (operator-issued tokens and ingest keys name theirs; kernel/tenant.ts)', tenantId),
  calibrationMinPerClass: s('DFD_CALIBRATION_MIN_PER_CLASS', '30', "Per-tenant calibration: decided calls needed in each class (confirmed fake, genuine) for a detector and channel before it is refit (docs/calibration.md)", int(2, 1_000_000)),
  calibrationMaxScale: s('DFD_CALIBRATION_MAX_SCALE', '2', "Per-tenant calibration: the refit scale a of the shipped log-odds stays in [1/x, x]", num(1, 10)),
  calibrationMaxShift: s('DFD_CALIBRATION_MAX_SHIFT', '1.5', "Per-tenant calibration: the refit shift b stays within +-x nats of the shipped calibration", num(0, 10)),
  calibrationMinGain: s('DFD_CALIBRATION_MIN_GAIN', '0.02', "Per-tenant calibration: a refit is kept only when its cross-validated Cllr (held-out folds of the tenant's calls) beats the shipped calibration's by at least this many bits", num(0, 1)),
  calibrationMinEvidence: s('DFD_CALIBRATION_MIN_EVIDENCE', '2', "Per-tenant calibration: seconds of scored evidence a decided call needs to count", num(0, 3600)),
  ingestMaxStreams: s('DFD_INGEST_MAX_STREAMS', '200', 'Concurrent phone ingest streams; one more is refused (close 1013)', int(1, 100_000)),
  ingestStartTimeoutMs: s('DFD_INGEST_START_TIMEOUT_MS', '10000', 'An ingest stream that has not sent its start (Twilio) or open (AudioHook) message by then is closed (ERR_INGEST_TIMEOUT)', int(100, 600_000)),
  ingestMaxFrameBytes: s('DFD_INGEST_MAX_FRAME_BYTES', '16384', 'Largest ingest WebSocket frame; a larger one closes the stream (1009)', int(1024, 1 << 22)),
  logLevel: s('LOG_LEVEL', 'info', 'debug, info, warn, error or silent', oneOf(...LOG_LEVELS)),
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: Settings[K] extends Setting<infer T> ? T : never };

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const raw = env[setting.env];
    out[key] = setting.parse(raw === undefined || raw === '' ? setting.default : raw, setting.env);
  }
  const cfg = { ...(out as Config), ...overrides };
  if (cfg.numWorkers === 0 || cfg.audioWorkers === 0) {
    // One per CPU the process may really use: its affinity mask and any cgroup CPU quota (a
    // container's limits.cpu), whichever is less (kernel/cpuBudget.ts).
    const cores = readCpuBudget().cores;
    // ...within the bounds an explicit setting has (a 128-core host gets 64 audio workers, as DFD_AUDIO_WORKERS=64).
    if (cfg.numWorkers === 0) cfg.numWorkers = Math.min(MAX_MEDIASOUP_WORKERS, cores);
    if (cfg.audioWorkers === 0) cfg.audioWorkers = Math.min(MAX_AUDIO_WORKERS, cores);
  }
  if (cfg.rtcMinPort > cfg.rtcMaxPort) throw new DfdError('ERR_CONFIG', 'DFD_RTC_MIN_PORT must not exceed DFD_RTC_MAX_PORT');
  if (cfg.analysis === 'remote' && cfg.natsUrl.length === 0) throw new DfdError('ERR_CONFIG', 'DFD_ANALYSIS=remote needs NATS_URL: the service and its analysis workers must share a NATS server');
  if (cfg.roomRegistry === 'nats' && (cfg.natsUrl.length === 0 || !/^https?:\/\//.test(cfg.publicUrl))) throw new DfdError('ERR_CONFIG', 'DFD_ROOM_REGISTRY=nats needs NATS_URL (the nodes share it) and DFD_PUBLIC_URL (where clients reach this node)');
  if (cfg.jetstreamReplicas > 1 && cfg.natsUrl.length === 0) throw new DfdError('ERR_CONFIG', 'DFD_JETSTREAM_REPLICAS above 1 needs NATS_URL: the embedded nats-server is a single node');
  if (cfg.audioFirstWindowSec > cfg.audioWindowSec) throw new DfdError('ERR_CONFIG', 'DFD_AUDIO_FIRST_WINDOW_SEC must not exceed DFD_AUDIO_WINDOW_SEC');
  return cfg;
}

/** loadConfig() for an entry point: a bad setting prints its message and exits with code 2 (nothing started). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof DfdError) {
      process.stderr.write(`configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Markdown table of every setting, for the README. */
export function configTable(): string {
  const rows = Object.values(settings).map((st) => `| \`${st.env}\` | \`${st.default.replace(repoRoot, '<repo>')}\` | ${st.doc} |`);
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
