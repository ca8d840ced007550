/**
 * Why a challenge started, in words for the person on the call: the trigger, and for a
 * weak-evidence challenge what it acted on, e.g. "weak-evidence (pFake 0.57 ≥ 0.56, phone-leg
 * threshold)". Shared by the live challenge log and the call page.
 */
import type { ChallengeBasis } from '../../api/historyWire.js';

export interface TriggerInfo {
  trigger?: string | null | undefined;
  basis?: ChallengeBasis | null | undefined;
}

export function triggerText(c: TriggerInfo): string {
  const t = c.trigger ?? '';
  const b = c.basis;
  if (!b) return t;
  return `${t} (pFake ${b.pFake.toFixed(2)} ≥ ${b.threshold.toFixed(2)}${b.family === 'telephone' ? ', phone-leg threshold' : b.family === 'g722' ? ', G.722-leg threshold' : b.family === 'sip-opus' ? ', Opus SIP-leg threshold' : ''})`;
}
