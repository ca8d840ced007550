/**
 * The small explicit state machine of one phone-ingest stream, driven by two tables: which
 * states each state may move to, and which protocol messages each state takes. A protocol
 * (Twilio Media Streams, Genesys AudioHook) supplies its tables; anything off the tables is
 * ERR_INGEST_STATE.
 */
import { DfdError } from '../kernel/errors.js';

export class StreamState<S extends string, M extends string> {
  #state: S;
  readonly #transitions: Readonly<Record<S, readonly S[]>>;
  readonly #accepts: Readonly<Record<S, readonly M[]>>;

  constructor(initial: S, transitions: Readonly<Record<S, readonly S[]>>, accepts: Readonly<Record<S, readonly M[]>>) {
    this.#state = initial;
    this.#transitions = transitions;
    this.#accepts = accepts;
  }

  get name(): S {
    return this.#state;
  }

  /** Whether a message of this type is allowed now. */
  accepts(type: M): boolean {
    return this.#accepts[this.#state].includes(type);
  }

  canMove(to: S): boolean {
    return this.#transitions[this.#state].includes(to);
  }

  /** Moves to `to`; throws ERR_INGEST_STATE for a transition the table does not have. */
  move(to: S): void {
    if (!this.canMove(to)) throw new DfdError('ERR_INGEST_STATE', 'illegal stream state transition', { from: this.#state, to });
    this.#state = to;
  }
}
