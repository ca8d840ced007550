/**
 * The one mapping from a verdict (the verdict machine's state, its confidence and the
 * evidence it rests on) to what people see: wording, colour, an icon and a sentence that
 * explains it. The dashboard, the badge SDK and the meeting page all render verdicts through
 * `describeVerdict`, so an operator and a caller never read two different stories.
 *
 * Honesty rule: a reassuring word ("Likely genuine") needs evidence behind it. A
 * `likely-genuine` state with low confidence or too little evidence is shown as
 * "Not enough evidence yet" (neutral), never as a reassurance. Alarms (`suspicious`,
 * `deepfake-likely`) are never hidden; with weak evidence their explanation says so.
 * Every display carries an icon and text, so nothing relies on colour alone.
 *
 * Pure and DOM-free (unit tested in node). The thresholds come from the verdict machine
 * itself (`pipeline/verdict/VerdictMachine.ts` has no server dependencies, so the browser
 * bundle imports it directly).
 */
import { defaultVerdictMachineOptions, VerdictStates, type VerdictState } from '../../pipeline/verdict/VerdictMachine.js';

/**
 * The lowest confidence at which `likely-genuine` is shown as "Likely genuine".
 *
 * The verdict code (`pipeline/verdict/ParticipantVerdict.ts`) defines
 *   confidence = (1 - exp(-evidence / confidenceEvidence)) * (1 - droppedFraction) * coverage
 * with confidenceEvidence = 10 s of decayed, weight-scaled evidence. The machine may leave
 * `collecting` at minEvidence = 0.6 s of scored input, far below any reassurance; that is
 * enough to start judging (and to raise an alarm early) but not to reassure anyone (the
 * "Likely genuine at confidence 30 %" case). 0.5 asks for 6.9 s of weighted evidence with
 * every observed modality judged and nothing dropped, i.e. more of the evidence scale
 * covered than not; with only
 * one of two observed modalities judgeable (coverage 0.5) confidence can never reach it, and
 * the badge says so instead of vouching for half a participant. In a live call with the
 * shipped weights a steady speaker gets there after roughly 15-20 s of speech.
 * `verdictDisplay.test.ts` checks this against the verdict code's defaults.
 */
export const MIN_REASSURING_CONFIDENCE = 0.5;

/**
 * The fewest seconds of evidence (speech plus face frames at the analysis rate) behind a
 * "Likely genuine". The verdict machine gives a first verdict after about a second of scored
 * input so an alarm is never late; a reassurance waits for more than that.
 */
export const MIN_REASSURING_SECONDS = 3;

/**
 * Video frames analysed per second by default (`DFD_VIDEO_FPS`), to count face frames as
 * seconds of evidence next to seconds of speech.
 */
export const FACE_FRAMES_PER_SECOND = 5;

/** What a participant is shown as. `not-enough-evidence` is a display of its own, not a machine state. */
export type DisplayKind = 'collecting' | 'not-enough-evidence' | 'poor-input' | 'declared-synthetic' | 'likely-genuine' | 'suspicious' | 'deepfake-likely' | 'verified';

export interface VerdictDisplayInput {
  state: VerdictState;
  /** 0..1; null when no verdict carried one yet (weak). */
  confidence: number | null;
  pFake?: number | null | undefined;
  /** Cumulative evidence from the verdict event, when known. */
  evidence?: { speechSeconds: number; faceFrames: number } | undefined;
  /** The machine's reason (`insufficient-evidence`, `audio:packet-loss`, `challenge-passed`, ...). */
  reason?: string | undefined;
}

export interface VerdictDisplay {
  kind: DisplayKind;
  /** Short wording for the badge. */
  label: string;
  /** Background colour (white text on it passes WCAG AA contrast). */
  colour: string;
  /** A glyph shown before the label (decorative: the label says the same). */
  icon: string;
  /** True when the evidence is too weak to reassure (shown neutral). */
  weak: boolean;
  /** One or two sentences: the state, the evidence it rests on, and what would change it. */
  detail: string;
}

interface Style {
  label: string;
  colour: string;
  icon: string;
}

/** Wording, colour and icon per display kind: the single table every page uses. */
export const displayStyles: Readonly<Record<DisplayKind, Style>> = {
  collecting: { label: 'Not enough evidence yet', colour: '#555555', icon: '…' },
  'not-enough-evidence': { label: 'Not enough evidence yet', colour: '#555555', icon: '…' },
  'poor-input': { label: 'Input too poor to judge', colour: '#555555', icon: '≈' },
  'declared-synthetic': { label: 'Declared synthetic voice', colour: '#5b3f8c', icon: '◆' },
  'likely-genuine': { label: 'Likely genuine', colour: '#1f7a3a', icon: '✓' },
  suspicious: { label: 'Suspicious', colour: '#8a5a00', icon: '⚠' },
  'deepfake-likely': { label: 'Deepfake likely', colour: '#b3261e', icon: '✕' },
  verified: { label: 'Verified', colour: '#1f5f9a', icon: '★' },
};

const pct = (v: number): string => `${Math.round(v * 100)}%`;

/** Seconds of evidence (speech seconds plus face frames at the default analysis rate). */
export function evidenceSeconds(e: { speechSeconds: number; faceFrames: number }): number {
  return Math.max(0, e.speechSeconds) + Math.max(0, e.faceFrames) / FACE_FRAMES_PER_SECOND;
}

function evidenceText(input: VerdictDisplayInput): string {
  const e = input.evidence;
  if (!e) return '';
  const parts = [`${Math.round(e.speechSeconds)} s of speech`];
  if (e.faceFrames > 0) parts.push(`${Math.round(e.faceFrames)} face frames`);
  return ` Based on ${parts.join(' and ')}.`;
}

function numbersText(input: VerdictDisplayInput): string {
  const parts: string[] = [];
  if (typeof input.pFake === 'number') parts.push(`P(fake) ${pct(input.pFake)}`);
  if (input.confidence !== null) parts.push(`confidence ${pct(input.confidence)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** Whether a verdict's evidence is too weak to reassure anyone. */
export function isWeakEvidence(input: Pick<VerdictDisplayInput, 'confidence' | 'evidence'>): boolean {
  if (input.confidence === null || !Number.isFinite(input.confidence) || input.confidence < MIN_REASSURING_CONFIDENCE) return true;
  return input.evidence !== undefined && evidenceSeconds(input.evidence) < MIN_REASSURING_SECONDS;
}

/** Quality reasons look like `audio:packet-loss,video:tiny-face`. */
function isQualityReason(reason: string | undefined): reason is string {
  return reason !== undefined && /^(audio|video):/.test(reason);
}

export function describeVerdict(input: VerdictDisplayInput): VerdictDisplay {
  const o = defaultVerdictMachineOptions;
  const weak = isWeakEvidence(input);
  const numbers = numbersText(input);
  const evidence = evidenceText(input);
  const make = (kind: DisplayKind, detail: string): VerdictDisplay => ({ kind, ...displayStyles[kind], weak, detail });
  // A voice an operator declared as legitimately synthetic (an IVR, a text-to-speech user): not an alarm.
  const declared = input.reason?.startsWith('declared-synthetic:') ? input.reason.slice('declared-synthetic:'.length) : undefined;
  if (declared && (input.state === 'collecting' || input.state === 'likely-genuine')) {
    return make(
      'declared-synthetic',
      `This voice matches a synthetic voice an operator declared as legitimate (${declared}), so the voice detector's evidence is set aside while it matches.${evidence} The face, if any, is still judged; a different voice taking over ends the match.`,
    );
  }
  switch (input.state) {
    case 'collecting':
      if (isQualityReason(input.reason)) {
        return make('poor-input', `The input is too poor to judge (${input.reason.replaceAll(',', ', ')}).${evidence} This changes once the connection or the camera framing improves.`);
      }
      return make('collecting', `No verdict yet: the detectors are still collecting evidence${numbers}.${evidence} A verdict needs about ${o.minEvidence} s of speech or a clearly visible face.`);
    case 'likely-genuine':
      if (weak) {
        return make(
          'not-enough-evidence',
          `The scores lean genuine but the evidence is still thin${numbers}.${evidence} "Likely genuine" is shown from confidence ${pct(MIN_REASSURING_CONFIDENCE)}; more speech with the face in view raises it.`,
        );
      }
      return make('likely-genuine', `The detectors find this participant likely genuine${numbers}.${evidence} It turns suspicious if P(fake) rises to ${pct(o.suspiciousEnter)}.`);
    case 'suspicious':
      return make(
        'suspicious',
        `The detectors find this participant suspicious${numbers}${weak ? ', on thin evidence' : ''}.${evidence} A passed challenge verifies them; P(fake) below ${pct(o.suspiciousExit)} clears it, at ${pct(o.deepfakeEnter)} it becomes "Deepfake likely".`,
      );
    case 'deepfake-likely':
      return make(
        'deepfake-likely',
        `This participant is likely a deepfake${numbers}${input.reason && !isQualityReason(input.reason) ? `: ${input.reason}` : ''}.${evidence} Only a passed challenge or P(fake) falling below ${pct(o.deepfakeExit)} changes it.`,
      );
    case 'verified':
      return make('verified', `This participant passed a liveness challenge${numbers}. Verification lasts a limited time; a failed challenge ends it.`);
  }
}

/** Every machine state, for tests and legends. */
export const verdictStates: readonly VerdictState[] = VerdictStates;
