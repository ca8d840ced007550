/**
 * Builds the test fixtures once per run (speech WAV, face video, ...) under
 * test/fixtures/.generated. Each fixture builder is idempotent.
 */
import { ensureFixtures } from './fixtures/build.js';

export default async function setup(): Promise<void> {
  await ensureFixtures();
}
