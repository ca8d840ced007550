/**
 * The declared synthetic voices of this service: voices an operator registered as legitimate
 * although synthetic (an IVR, a caller who speaks through text-to-speech). Each holds its
 * speaker-embedding profile (256 floats: no audio is kept), who registered it and when.
 *
 * Kept in `<DFD_DATA_DIR>/declared-voices.json` (owner-only; in memory when there is no data
 * folder), written atomically on every change, read back at start. A file that fails validation
 * is refused with ERR_CONFIG and changes nothing (the service starts with no declared voices and
 * logs why). `changed` fires after every add or remove with the whole list, so the pipeline's
 * matcher always sees one consistent set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import type { DeclaredVoice } from '../pipeline/verdict/DeclaredVoices.js';

const log = createLogger('declared-voices');

export interface DeclaredVoiceRecord extends DeclaredVoice {
  /** Operator who registered it. */
  createdBy: string;
  createdAt: string;
  /** Speech windows (1.6 s) the profile averages, and seconds of reference audio. */
  windows: number;
  referenceSeconds: number;
  /** The speaker model the profile was made with (a profile only compares with its own model's embeddings). */
  model: { id: string; version: string };
}

export interface DeclaredVoiceRegistryOptions {
  /** Folder of the registry file; '' keeps it in memory. */
  dataDir: string;
  /** Most voices kept. */
  maxVoices: number;
}

export const defaultDeclaredVoiceRegistryOptions: DeclaredVoiceRegistryOptions = { dataDir: '', maxVoices: 100 };

export type DeclaredVoiceRegistryEvents = {
  changed: [voices: readonly DeclaredVoiceRecord[]];
};

const LABEL_MAX = 128;
const FILE = 'declared-voices.json';

interface StoredVoice extends Omit<DeclaredVoiceRecord, 'profile'> {
  profile: number[];
}

export class DeclaredVoiceRegistry extends TypedEmitter<DeclaredVoiceRegistryEvents> {
  readonly options: DeclaredVoiceRegistryOptions;
  readonly #voices = new Map<string, DeclaredVoiceRecord>();

  constructor(options: Partial<DeclaredVoiceRegistryOptions> = {}) {
    super();
    this.options = { ...defaultDeclaredVoiceRegistryOptions, ...options };
    if (this.options.dataDir) {
      try {
        for (const v of readFile(path.join(this.options.dataDir, FILE))) this.#voices.set(v.id, v);
      } catch (e) {
        log.error('declared voices not loaded', { error: e });
      }
    }
  }

  list(): DeclaredVoiceRecord[] {
    return [...this.#voices.values()];
  }

  get(id: string): DeclaredVoiceRecord | undefined {
    return this.#voices.get(id);
  }

  /** Registers a voice; its id is generated. Throws ERR_BAD_REQUEST on a bad label or profile, ERR_DECLARED_VOICES_FULL when full. */
  add(v: Omit<DeclaredVoiceRecord, 'id' | 'createdAt'>): DeclaredVoiceRecord {
    const label = v.label.trim();
    if (label.length === 0 || label.length > LABEL_MAX || [...label].some((ch) => ch.charCodeAt(0) < 0x20)) throw new DfdError('ERR_BAD_REQUEST', `label must be 1-${LABEL_MAX} printable characters`);
    if (!(v.profile.length > 0) || !v.profile.every(Number.isFinite)) throw new DfdError('ERR_BAD_REQUEST', 'profile must be finite numbers');
    if (this.#voices.size >= this.options.maxVoices) throw new DfdError('ERR_DECLARED_VOICES_FULL', `at most ${this.options.maxVoices} declared voices`);
    const record: DeclaredVoiceRecord = { ...v, label, id: `dv-${randomBytes(6).toString('hex')}`, createdAt: new Date().toISOString() };
    this.#voices.set(record.id, record);
    this.#changed();
    return record;
  }

  remove(id: string): boolean {
    if (!this.#voices.delete(id)) return false;
    this.#changed();
    return true;
  }

  #changed(): void {
    if (this.options.dataDir) writeFile(path.join(this.options.dataDir, FILE), this.list());
    this.safeEmit('changed', this.list());
  }
}

function writeFile(file: string, voices: readonly DeclaredVoiceRecord[]): void {
  const stored: StoredVoice[] = voices.map((v) => ({ ...v, profile: Array.from(v.profile) }));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ version: 1, voices: stored }), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function readFile(file: string): DeclaredVoiceRecord[] {
  if (!fs.existsSync(file)) return [];
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const voices = (raw as { version?: unknown; voices?: unknown } | null)?.voices;
  if ((raw as { version?: unknown }).version !== 1 || !Array.isArray(voices)) throw new DfdError('ERR_CONFIG', `${FILE}: not a version 1 registry`);
  return voices.map((v: unknown, i) => {
    const s = v as Partial<StoredVoice>;
    const ok =
      typeof s.id === 'string' && /^dv-[0-9a-f]{12}$/.test(s.id) && typeof s.label === 'string' && typeof s.createdBy === 'string' && typeof s.createdAt === 'string' &&
      Array.isArray(s.profile) && s.profile.length > 0 && s.profile.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
      typeof s.windows === 'number' && typeof s.referenceSeconds === 'number' && typeof s.model?.id === 'string' && typeof s.model.version === 'string';
    if (!ok) throw new DfdError('ERR_CONFIG', `${FILE}: voice ${i} is malformed`);
    return { ...(s as StoredVoice), profile: Float32Array.from(s.profile!) };
  });
}
