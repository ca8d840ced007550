/** Worker-thread side of AnalysisWorker: runs analyseAudio on request. */
import { parentPort } from 'node:worker_threads';
import { analyseAudio, type AnalyseOptions } from './analyse.js';

interface Request {
  id: number;
  samples: Float32Array;
  options: Partial<AnalyseOptions>;
}

parentPort?.on('message', (req: Request) => {
  try {
    const a = analyseAudio(req.samples, req.options);
    parentPort?.postMessage({ id: req.id, analysis: a }, [a.f0.buffer as ArrayBuffer]);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
    parentPort?.postMessage({ id: req.id, error: { message: e instanceof Error ? e.message : String(e), code } });
  }
});
