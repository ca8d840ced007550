/**
 * Probe of the melody match on PERFECT renditions: random catalogue tunes hummed by sox
 * exactly on pitch (4 ways each: plain, detuned +-0.2 semitone, tremolo, both). Any
 * distance above the checker's pass threshold comes from the matcher, not from the singer.
 *
 *   nice -n 10 node --import tsx challenge-response/eval/melodyProbe.ts [--tunes 24] [--seed 9]
 */
import { randomMelody } from '../catalogue.js';
import { defaultMelodyCheckOptions } from '../checkers/melody.js';
import { analyseAudio } from '../dsp/analyse.js';
import { matchMelody } from '../dsp/melody.js';
import { hum, seededRandom } from './labelledSet.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) ? v : fallback;
}

const tunes = Math.max(1, arg('tunes', 24));
const seed = arg('seed', 9);
const rng = seededRandom(seed);
const above: { tune: number[]; tremolo: number; detuned: boolean; distanceSemitones: number }[] = [];
let hums = 0;
const badTunes = new Set<string>();
for (let i = 0; i < tunes; i++) {
  const mel = randomMelody(rng);
  for (const tremolo of [0, 20]) {
    for (const detuned of [false, true]) {
      const detune = (k: number): number => (detuned ? ((k * 7 + i) % 5) * 0.1 - 0.2 : 0);
      const a = analyseAudio(hum(mel, 0, 0.5, 'sawtooth', detune, tremolo));
      const m = matchMelody(a.f0, a.hopSec, mel);
      hums++;
      if (m.distanceSemitones > defaultMelodyCheckOptions.passDistance) {
        above.push({ tune: mel.map((n) => n.midi), tremolo, detuned, distanceSemitones: Math.round(m.distanceSemitones * 100) / 100 });
        badTunes.add(mel.map((n) => n.midi).join(','));
      }
    }
  }
}
process.stdout.write(`${JSON.stringify({ command: `node --import tsx challenge-response/eval/melodyProbe.ts --tunes ${tunes} --seed ${seed}`, tunes, hums, passDistance: defaultMelodyCheckOptions.passDistance, humsAbovePass: above.length, tunesAffected: badTunes.size, above }, null, 2)}\n`);
