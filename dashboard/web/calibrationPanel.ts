/**
 * The dashboard's "Calibration per tenant" panel: each tenant's own calibration (version, what it
 * applies to, the evidence behind it: decided calls per class, Cllr of the shipped calibration and
 * of the refit on held-out calls, the map), a refit for any tenant and a rollback per tenant.
 * Reads `/v1/calibration` on start, every `pollMs` (a refit on another node shows up) and after
 * each action. A refused refit says why (ERR_CALIBRATION_REJECTED's evidence).
 */
import { ApiError, type ApiClient } from './api.js';
import { el } from './historyDom.js';
import { describeCalibration, describeGroup, describeRejection, parseCalibration, type CalibrationView } from './calibrationFormat.js';

export interface CalibrationPanelOptions {
  pollMs: number;
}

const TENANT_RE = /^[A-Za-z0-9_-]{1,32}$/;

export class CalibrationPanel {
  readonly options: CalibrationPanelOptions;
  readonly #api: ApiClient;
  readonly #list: HTMLElement;
  readonly #status: HTMLElement;
  readonly #input: HTMLInputElement;
  #busy = false;

  constructor(root: HTMLElement, api: ApiClient, options: Partial<CalibrationPanelOptions> = {}) {
    this.options = { pollMs: 10_000, ...options };
    this.#api = api;
    this.#list = root.querySelector<HTMLElement>('[data-testid="calibrations"]') ?? root.appendChild(el('ol'));
    this.#status = root.querySelector<HTMLElement>('[data-testid="calibration-status"]') ?? root.appendChild(el('p'));
    this.#input = root.querySelector<HTMLInputElement>('[data-testid="calibration-tenant"]') ?? root.appendChild(el('input'));
    const form = root.querySelector<HTMLFormElement>('[data-testid="calibration-form"]');
    form?.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.refit(this.#input.value.trim());
    });
  }

  start(): void {
    void this.load();
    setInterval(() => void this.load(), this.options.pollMs);
  }

  async load(): Promise<void> {
    try {
      this.render((await this.#api.calibrations()).map(parseCalibration).filter((c): c is CalibrationView => c !== undefined));
    } catch {
      // The next poll tries again; signing out is the live feed's business.
    }
  }

  render(calibrations: readonly CalibrationView[]): void {
    this.#list.replaceChildren(
      ...calibrations.map((c) => {
        const li = el('li', { 'data-testid': 'calibration', 'data-tenant': c.tenant, 'data-version': String(c.version) });
        li.append(el('strong', {}, c.tenant), ' ', el('span', {}, describeCalibration(c)));
        const ul = el('ul');
        for (const g of c.groups) ul.append(el('li', {}, describeGroup(g)));
        if (c.groups.length > 0) li.append(ul);
        li.append(el('p', { class: 'calibration-meta' }, `${c.decisions} decisions read, ${c.unlabelled} without a label, ${c.withoutScores} without scores; ${new Date(c.createdAt).toLocaleString()}`));
        const back = el('button', { type: 'button', 'data-testid': 'calibration-rollback' }, 'Roll back');
        back.disabled = c.version === 0 || (c.applied.length === 0 && c.action === 'rollback' && c.restores === 0);
        back.addEventListener('click', () => void this.rollback(c.tenant));
        const refit = el('button', { type: 'button', 'data-testid': 'calibration-refit' }, 'Refit');
        refit.addEventListener('click', () => void this.refit(c.tenant));
        li.append(refit, ' ', back);
        return li;
      }),
    );
  }

  async refit(tenant: string): Promise<void> {
    if (!TENANT_RE.test(tenant)) return this.#say('A tenant id is 1 to 32 letters, digits, "-" or "_".');
    await this.#run(async () => {
      const c = parseCalibration(await this.#api.refitCalibration(tenant));
      this.#say(c ? `${tenant}: ${describeCalibration(c)}` : `${tenant}: refit stored.`);
    }, tenant);
  }

  async rollback(tenant: string): Promise<void> {
    await this.#run(async () => {
      const c = parseCalibration(await this.#api.rollbackCalibration(tenant));
      this.#say(c ? `${tenant}: ${describeCalibration(c)}` : `${tenant}: rolled back.`);
    }, tenant);
  }

  async #run(action: () => Promise<void>, tenant: string): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await action();
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('ERR_CLIENT', e instanceof Error ? e.message : String(e), 0);
      this.#say(`${tenant}: ${err.code === 'ERR_CALIBRATION_REJECTED' ? describeRejection(err.details) : `${err.code}: ${err.message}`}`, err.code);
    } finally {
      this.#busy = false;
      await this.load();
    }
  }

  #say(text: string, code?: string): void {
    this.#status.textContent = text;
    if (code) this.#status.setAttribute('data-code', code);
    else this.#status.removeAttribute('data-code');
  }
}
