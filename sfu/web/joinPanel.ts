/**
 * The panel above the tiles that guides a participant into the call: the hint to answer
 * the browser's permission prompt while it is open, and, when a device cannot be used, the
 * specific problem (`deviceProblems.ts`) with one button per way of joining that works plus
 * "Try again". Keyboard focus moves to the first choice, so a keyboard user lands on it.
 */
import { joinModeLabels, type DeviceProblemMessage, type JoinMode } from './deviceProblems.js';

export const PERMISSION_HINT = "Allow camera and microphone access in your browser's prompt";

export interface JoinPanelHandlers {
  onChoice(mode: JoinMode): void;
  onRetry(): void;
}

export class JoinPanel {
  readonly #root: HTMLElement;
  readonly #title: HTMLElement;
  readonly #detail: HTMLElement;
  readonly #choices: HTMLElement;

  constructor(root: HTMLElement) {
    this.#root = root;
    const q = (testId: string): HTMLElement => {
      const e = root.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
      if (!e) throw new Error(`meeting markup is missing ${testId}`);
      return e;
    };
    this.#title = q('setup-title');
    this.#detail = q('setup-detail');
    this.#choices = q('join-choices');
  }

  showPermissionHint(): void {
    this.#show('permission', PERMISSION_HINT, 'The meeting starts as soon as you allow it. If you decline, you can still join without them.');
    this.#choices.replaceChildren();
  }

  showDeviceProblem(message: DeviceProblemMessage, handlers: JoinPanelHandlers): void {
    this.#show('device-error', message.title, message.advice);
    const button = (text: string, testId: string, onClick: () => void, primary: boolean): HTMLButtonElement => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.dataset['testid'] = testId;
      if (primary) b.className = 'primary';
      b.addEventListener('click', () => {
        this.hide();
        onClick();
      });
      return b;
    };
    this.#choices.replaceChildren(
      ...message.choices.map((mode, i) => button(joinModeLabels[mode], `join-${mode}`, () => handlers.onChoice(mode), i === 0)),
      button('Try again', 'join-retry', () => handlers.onRetry(), false),
    );
    this.#choices.querySelector('button')?.focus();
  }

  hide(): void {
    this.#root.hidden = true;
    delete this.#root.dataset['kind'];
  }

  #show(kind: 'permission' | 'device-error', title: string, detail: string): void {
    this.#root.dataset['kind'] = kind;
    this.#title.textContent = title;
    this.#detail.textContent = detail;
    this.#root.hidden = false;
  }
}
