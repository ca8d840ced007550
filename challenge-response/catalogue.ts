/**
 * The challenge catalogue: what can be asked of a caller, how it is prompted, how long the
 * answer takes, which parameters are randomised (so a pre-recorded or pre-rendered answer
 * cannot exist), and which checker judges compliance.
 */
import { checkCupped } from './checkers/cupped.js';
import { checkLoud, checkSoft } from './checkers/loudness.js';
import { checkMelody } from './checkers/melody.js';
import { checkHighPitch } from './checkers/pitch.js';
import { checkFast, checkSlow } from './checkers/rate.js';
import type { AudioChecker, ChallengeParams, VideoChecker } from './checkers/types.js';
import { checkFingerOnCheek, checkHandOverHalf, checkHeadTurn, checkLookUpDown } from './checkers/video.js';
import { checkWhisper } from './checkers/whisper.js';
import { checkWords } from './checkers/words.js';
import type { MelodyNote } from './dsp/melody.js';
import { pick, pickDistinct, type RandomSource } from './random.js';

export type Modality = 'audio' | 'video';

export interface SpokenPrompt {
  /** Text read to the caller by TTS. */
  text: string;
  /** Melody played after the text (sing/hum challenge). */
  melody?: MelodyNote[];
}

/** One concrete, randomised challenge ready to issue. */
export interface ChallengeSpec {
  /** Catalogue id, e.g. "whisper-phrase". */
  kind: string;
  modality: Modality;
  /** Shown on screen. */
  promptText: string;
  spoken: SpokenPrompt;
  /** How long a compliant answer takes, s (the response window adds slack). */
  expectedDurationSec: number;
  params: ChallengeParams;
}

interface EntryBase {
  id: string;
  modality: Modality;
  /** One line for operators and docs. */
  description: string;
  make(rng: RandomSource): ChallengeSpec;
}

export interface AudioEntry extends EntryBase {
  modality: 'audio';
  check: AudioChecker;
}

export interface VideoEntry extends EntryBase {
  modality: 'video';
  check: VideoChecker;
}

export type CatalogueEntry = AudioEntry | VideoEntry;

/** Everyday phrases with their syllable counts. */
export const phrases: ReadonlyArray<{ text: string; syllables: number }> = [
  { text: 'The orange boat drifted slowly past the harbour wall', syllables: 13 },
  { text: 'My neighbour keeps seven chickens in a blue shed', syllables: 11 },
  { text: 'Please bring the yellow umbrella to the station', syllables: 13 },
  { text: 'A cold wind blew across the empty market square', syllables: 12 },
  { text: 'Seven purple kites were flying over the hill', syllables: 12 },
  { text: 'The library closes early on rainy Thursdays', syllables: 13 },
  { text: 'We painted the garden fence a bright shade of green', syllables: 12 },
  { text: 'Nobody expected the cake to be so heavy', syllables: 12 },
];

/** Rare and foreign words a voice model is unlikely to have rehearsed, with syllable counts. */
export const unusualWords: ReadonlyArray<{ text: string; syllables: number }> = [
  { text: 'syzygy', syllables: 3 },
  { text: 'quixotic', syllables: 3 },
  { text: 'kerfuffle', syllables: 3 },
  { text: 'Ouagadougou', syllables: 5 },
  { text: 'Szczecin', syllables: 2 },
  { text: 'schadenfreude', syllables: 4 },
  { text: 'flibbertigibbet', syllables: 5 },
  { text: 'Reykjavik', syllables: 3 },
  { text: 'onomatopoeia', syllables: 6 },
  { text: 'Llanelli', syllables: 3 },
  { text: 'gobbledygook', syllables: 4 },
  { text: 'Kilimanjaro', syllables: 5 },
  { text: 'zeitgeist', syllables: 2 },
  { text: 'Popocatepetl', syllables: 5 },
];

/** Notes of a major pentatonic scale over a comfortable range for most voices (G3..E4). */
const melodyNotes = [55, 57, 59, 62, 64];

export function randomMelody(rng: RandomSource): MelodyNote[] {
  for (;;) {
    const n = 3 + rng.int(3);
    const notes: MelodyNote[] = [];
    for (let i = 0; i < n; i++) {
      let midi = melodyNotes[rng.int(melodyNotes.length)] ?? 60;
      const prev = notes[i - 1];
      if (prev && prev.midi === midi) midi = melodyNotes[(melodyNotes.indexOf(midi) + 1 + rng.int(melodyNotes.length - 1)) % melodyNotes.length] ?? midi;
      notes.push({ midi, durationSec: 0.5 });
    }
    const midis = notes.map((x) => x.midi);
    // A tune needs some shape: at least 4 semitones between its lowest and highest note.
    if (Math.max(...midis) - Math.min(...midis) >= 4) return notes;
  }
}

const side = (rng: RandomSource): 'left' | 'right' => (rng.int(2) === 0 ? 'left' : 'right');

/**
 * @param durationScale the answer's length in readings at the usual pace (4.5 syllables/s)
 * @param pauseSec extra time in the answer that is not reading (a pause between two readings)
 */
function phraseChallenge(id: string, description: string, instruction: string, durationScale: number, check: AudioChecker, pauseSec = 0): AudioEntry {
  return {
    id,
    modality: 'audio',
    description,
    check,
    make(rng) {
      const p = pick(phrases, rng);
      const promptText = `${instruction}: "${p.text}"`;
      return {
        kind: id,
        modality: 'audio',
        promptText,
        spoken: { text: `${instruction}. ${p.text}.` },
        expectedDurationSec: Math.max(2, (p.syllables / 4.5) * durationScale) + pauseSec,
        params: { phrase: p.text, syllables: p.syllables },
      };
    },
  };
}

function videoChallenge(id: string, description: string, text: (s: 'left' | 'right') => string, durationSec: number, check: VideoChecker): VideoEntry {
  return {
    id,
    modality: 'video',
    description,
    check,
    make(rng) {
      const s = side(rng);
      const promptText = text(s);
      return { kind: id, modality: 'video', promptText, spoken: { text: promptText }, expectedDurationSec: durationSec, params: { side: s } };
    },
  };
}

export const catalogue: readonly CatalogueEntry[] = [
  phraseChallenge('whisper-phrase', 'whisper a phrase: voiced clones rarely whisper convincingly', 'Please whisper this phrase', 1.2, checkWhisper),
  phraseChallenge('speak-softly', 'speak a phrase softly', 'Please say this very softly', 1.1, checkSoft),
  phraseChallenge('speak-loudly', 'speak a phrase loudly', 'Please say this loudly', 1.0, checkLoud),
  phraseChallenge('high-pitch', 'speak a phrase in a high voice', 'Please say this in a high-pitched voice', 1.1, checkHighPitch),
  phraseChallenge('cupped-mouth', 'speak with hands cupped over the mouth', 'Cup your hands over your mouth and say', 1.1, checkCupped),
  // Read twice: the first reading at the usual pace is the reference the second is timed against
  // (checkers/rate.ts); 1 + 0.8 (fast) or 1 + 2.2 (slow) readings plus a pause of about a second.
  phraseChallenge('read-quickly', 'read a phrase twice: at the normal pace, then as fast as possible', 'Please read this twice, first normally, then as fast as you can', 1.8, checkFast, 1),
  phraseChallenge('read-slowly', 'read a phrase twice: at the normal pace, then very slowly', 'Please read this twice, first normally, then very slowly', 3.2, checkSlow, 1),
  {
    id: 'sing-melody',
    modality: 'audio',
    description: 'sing or hum a short random melody played in the prompt',
    check: checkMelody,
    make(rng) {
      const melody = randomMelody(rng);
      return {
        kind: 'sing-melody',
        modality: 'audio',
        promptText: 'Please hum or sing back the short tune you hear',
        spoken: { text: 'Please hum or sing back this tune.', melody },
        expectedDurationSec: melody.reduce((a, n) => a + n.durationSec, 0) + 1,
        params: { melody },
      };
    },
  },
  {
    id: 'unusual-words',
    modality: 'audio',
    description: 'repeat rare or foreign words chosen at random',
    check: checkWords,
    make(rng) {
      const words = pickDistinct(unusualWords, 3, rng);
      const text = words.map((w) => w.text).join(', ');
      const syllables = words.reduce((a, w) => a + w.syllables, 0);
      return {
        kind: 'unusual-words',
        modality: 'audio',
        promptText: `Please repeat these words: ${text}`,
        spoken: { text: `Please repeat these words. ${text}.` },
        expectedDurationSec: Math.max(2, syllables / 3),
        params: { words: words.map((w) => w.text), syllables },
      };
    },
  },
  videoChallenge('head-turn', 'turn the head to show one profile', (s) => `Please turn your head to your ${s} and hold it for a moment`, 4, checkHeadTurn),
  videoChallenge('hand-over-half', 'pass a hand over one half of the face', (s) => `Please slowly pass your hand over the ${s} half of your face`, 4, checkHandOverHalf),
  videoChallenge('finger-on-cheek', 'press a finger on one cheek', (s) => `Please press a finger on your ${s} cheek`, 3, checkFingerOnCheek),
  {
    id: 'look-up-down',
    modality: 'video',
    description: 'look up, then down',
    check: checkLookUpDown,
    make() {
      const promptText = 'Please look up at the ceiling, then down at the floor';
      return { kind: 'look-up-down', modality: 'video', promptText, spoken: { text: promptText }, expectedDurationSec: 4, params: {} };
    },
  },
];

export function catalogueEntry(id: string): CatalogueEntry | undefined {
  return catalogue.find((e) => e.id === id);
}
