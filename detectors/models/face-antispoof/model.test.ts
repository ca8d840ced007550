/** The shipped face-antispoof model: the shared presentation-attack model suite (detectors/testing/padModelSuite.ts). */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePadModel } from '../../testing/padModelSuite.js';

describePadModel({
  dir: dirname(fileURLToPath(import.meta.url)),
  id: 'face-antispoof',
  side: 128,
  probs: { name: 'real', width: 1 },
  maxMeanPFake: 0.45,
  maxPFake: 0.6,
  measured: 'detectors/eval/padCrops.ts on samples 1-3, 9 faces: pFake 0.20..0.48 per face, mean 0.31',
});
