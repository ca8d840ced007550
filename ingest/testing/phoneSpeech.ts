/**
 * Real speech as a phone network carries it: LibriVox recordings shipped by Debian's
 * `pocketsphinx-testdata` (installed by `scripts/bootstrap.sh --test`), converted by sox to
 * G.711 mu-law, 8 kHz, mono, headerless: the bytes Twilio sends in `media.payload`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const CLIPS = ['0870', '0890', '0920'].map((n) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${n}.wav`);

/** What is missing to make the phone speech, as an install hint (empty when nothing is). */
export function missingPhoneSpeech(): string[] {
  return CLIPS.some((f) => !fs.existsSync(f)) ? ['real speech recordings are not installed (run: bash scripts/bootstrap.sh --test; or as root: apt-get install pocketsphinx-testdata sox)'] : [];
}

/** About 20 s of a real reader as 8 kHz mu-law bytes (sox: concatenate, resample, encode). */
export function phoneSpeechMuLaw(): Buffer {
  const missing = missingPhoneSpeech();
  if (missing.length > 0) throw new Error(missing.join('; '));
  return execFileSync('sox', [...CLIPS, '-r', '8000', '-c', '1', '-e', 'mu-law', '-b', '8', '-t', 'raw', '-'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The same real speech as a mono 16-bit WAV file at `rate` (e.g. what a SIP phone speaks), `repeat` times over. */
export function writePhoneSpeechWav(file: string, rate: number, repeat = 1): void {
  const missing = missingPhoneSpeech();
  if (missing.length > 0) throw new Error(missing.join('; '));
  const inputs = Array.from({ length: repeat }, () => CLIPS).flat();
  execFileSync('sox', [...inputs, '-r', String(rate), '-c', '1', '-b', '16', '-e', 'signed-integer', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}
