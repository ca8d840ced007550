/** The shipped face-liveness model: the shared presentation-attack model suite (detectors/testing/padModelSuite.ts). */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describePadModel } from '../../testing/padModelSuite.js';

describePadModel({
  dir: dirname(fileURLToPath(import.meta.url)),
  id: 'face-liveness',
  side: 32,
  probs: { name: 'probs', width: 2 },
  maxMeanPFake: 0.3,
  maxPFake: 0.5,
  measured: 'detectors/eval/padCrops.ts on samples 1-3, 9 faces: pFake 0.003..0.26 per face, mean 0.09',
});
