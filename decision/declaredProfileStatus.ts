/**
 * Whether a declared voice's stored profile can be compared with the installed speaker model's
 * embeddings. A profile is the mean embedding of the model version that made it: it is matched by
 * the same model id at that version, or at an earlier version that the installed manifest lists in
 * `declared.profilesFrom` (versions whose embeddings were measured to agree with this one's:
 * detectors/training/speaker/README.md, "Declared voices across a model upgrade"). Any other
 * profile is kept in the registry but not matched, and the operator list says why, so that an
 * upgrade never retires declared voices silently.
 */
export type DeclaredProfileStatus =
  /** Matched against live speech. */
  | 'active'
  /** No speaker-embedding model is installed (or analysis is off): nothing is matched. */
  | 'no-speaker-model'
  /** Made by another speaker model: enrol the voice again. */
  | 'other-model'
  /** Made by a version of the installed model whose embeddings are not declared compatible: enrol the voice again. */
  | 'other-version';

export interface InstalledSpeakerModel {
  id: string;
  version: string;
  /** Earlier versions whose profiles this version matches (manifest `declared.profilesFrom`). */
  profilesFrom: readonly string[];
}

export function declaredProfileStatus(madeBy: { id: string; version: string }, installed: InstalledSpeakerModel | undefined): DeclaredProfileStatus {
  if (!installed) return 'no-speaker-model';
  if (madeBy.id !== installed.id) return 'other-model';
  return madeBy.version === installed.version || installed.profilesFrom.includes(madeBy.version) ? 'active' : 'other-version';
}
