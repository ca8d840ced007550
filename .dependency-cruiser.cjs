/**
 * The dependency rule of the code base (docs/architecture.md), checked by `npm run lint`.
 * Layers, lowest first; a layer imports only the layers below it and the kernel:
 *
 *   kernel/                 errors, log, metrics, typed emitter, worker threads, HTTP plumbing: imports nothing of ours
 *   events/                 event schema, bus, audit, webhooks
 *   detectors/              model registry, model files, face geometry
 *   pipeline/               media source port, decode, VAD, windows, inference, verdicts
 *   sfu/                    mediasoup rooms, peers, taps (implements the pipeline's source port), signalling
 *   challenge-response/     challenges, checkers, prompts
 *   ingest/                 phone calls (Twilio Media Streams, Genesys AudioHook, SIP)
 *   cluster/                remote analysis over NATS: the work wire's client (RemoteInference) and worker node
 *   decision/               the decision layer: challenge outcomes and operator decisions -> verdicts; verdicts,
 *                           scores and stream quality -> bus events (PipelineEventPublisher)
 *   evidence/               evidence bundles
 *   api/                    REST, call history, live feed
 *   src/                    the application root: config, wiring, main; imported by nobody
 *
 * Browser code (`sfu/web/`, `dashboard/web/`) is its own layer: it imports browser code and the
 * few wire modules shared with the server (verdict states, history wire types).
 * Tooling (tests, `testing/` helpers, eval, training, benchmarks, load tests, scripts) may import
 * any layer, and no production module may import tooling.
 */
const TOOLING = '(^|/)(testing|eval|training|fixtures)/|\\.test\\.ts$|(^|/)bench\\.ts$|\\.bench\\.ts$|^(test|load-tests|scripts)/|^detectors/face/fixtures\\.ts$';
const OURS = '^(kernel|events|detectors|pipeline|sfu|challenge-response|ingest|cluster|decision|evidence|api|dashboard|src|test|load-tests|scripts)/';
const WEB = '^(sfu|dashboard)/web/';
const WIRE = '^(pipeline/verdict/VerdictMachine|api/historyWire)\\.ts$';

/** Production code in `folder` may import only `allowed` (folders) of ours. */
const layer = (folder, allowed) => ({
  name: `layer-${folder}`,
  comment: `${folder}/ imports only ${allowed.join(', ')} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^${folder}/`, pathNot: `${TOOLING}|${WEB}` },
  to: { path: OURS, pathNot: `^(${[folder, ...allowed].join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer('kernel', []),
    layer('events', ['kernel']),
    layer('detectors', ['kernel']),
    layer('pipeline', ['kernel', 'detectors']),
    layer('sfu', ['kernel', 'pipeline']),
    layer('challenge-response', ['kernel', 'events', 'detectors', 'pipeline', 'sfu']),
    layer('ingest', ['kernel', 'events', 'pipeline', 'sfu', 'challenge-response']),
    layer('cluster', ['kernel', 'events', 'detectors', 'pipeline']),
    layer('decision', ['kernel', 'events', 'detectors', 'pipeline', 'challenge-response']),
    layer('evidence', ['kernel', 'events', 'detectors', 'pipeline', 'challenge-response']),
    layer('api', ['kernel', 'events', 'detectors', 'pipeline', 'sfu', 'challenge-response', 'decision', 'evidence']),
    {
      name: 'web-layer',
      comment: 'Browser code imports browser code and the shared wire modules only.',
      severity: 'error',
      from: { path: WEB, pathNot: TOOLING },
      to: { path: OURS, pathNot: `${WEB}|${WIRE}` },
    },
    {
      name: 'app-root-imported-by-nobody',
      comment: 'src/ wires the layers; no layer imports it (tooling may).',
      severity: 'error',
      from: { path: OURS, pathNot: `^src/|${TOOLING}` },
      to: { path: '^src/' },
    },
    {
      name: 'production-does-not-import-tooling',
      comment: 'Test helpers, eval, training and benchmark code stay out of the service.',
      severity: 'error',
      from: { path: OURS, pathNot: TOOLING },
      to: { path: TOOLING },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|web-dist|\\.deps)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs'] },
  },
};
