/**
 * The meeting page's state as the participant sees it: the status text in the header (a
 * polite live region) and the banner under it for what needs attention (reconnecting, could
 * not reconnect, the service shutting down). `body[data-status]` carries a stable token for
 * tests and scripts, which wait on it.
 */
export type MeetingStatusToken =
  | 'idle'
  | 'awaiting-permission'
  | 'starting-media'
  | 'device-error'
  | 'joining'
  | 'joined'
  | 'reconnecting'
  | 'reconnect-failed'
  | 'replaced'
  | 'shutting-down'
  | 'left'
  | 'error';

export type NoticeKind = 'info' | 'error';

export class MeetingStatus {
  readonly #status: HTMLElement;
  readonly #notice: HTMLElement;
  #token: MeetingStatusToken = 'idle';

  constructor(status: HTMLElement, notice: HTMLElement) {
    this.#status = status;
    this.#notice = notice;
  }

  get token(): MeetingStatusToken {
    return this.#token;
  }

  set(token: MeetingStatusToken, text: string): void {
    this.#token = token;
    this.#status.textContent = text;
    document.body.dataset['status'] = token;
  }

  notice(kind: NoticeKind, text: string): void {
    this.#notice.textContent = text;
    this.#notice.dataset['kind'] = kind;
    this.#notice.hidden = false;
  }

  clearNotice(): void {
    this.#notice.hidden = true;
    this.#notice.textContent = '';
    delete this.#notice.dataset['kind'];
  }
}
