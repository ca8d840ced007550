/**
 * The operator sign-in page: posts the credentials to /v1/auth/login and goes to the
 * dashboard; a refusal shows its error code (wrong password, lockout, rate limit).
 * A file of its own (not inline) so the page runs under the strict Content-Security-Policy.
 */
const form = document.querySelector<HTMLFormElement>('[data-testid="login-form"]');
const error = document.querySelector<HTMLElement>('[data-testid="login-error"]');
const submit = document.querySelector<HTMLButtonElement>('[data-testid="sign-in"]');

function show(code: string, message: string): void {
  if (!error) return;
  error.dataset['code'] = code;
  error.replaceChildren(Object.assign(document.createElement('strong'), { textContent: code }), document.createTextNode(` ${message}`));
}

if (form && error && submit) {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const username = (form.elements.namedItem('username') as HTMLInputElement | null)?.value.trim() ?? '';
    const password = (form.elements.namedItem('password') as HTMLInputElement | null)?.value ?? '';
    if (!username || !password) {
      show('ERR_BAD_REQUEST', 'enter a user name and a password');
      return;
    }
    submit.disabled = true;
    error.replaceChildren();
    delete error.dataset['code'];
    void (async () => {
      try {
        const res = await fetch('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }), credentials: 'same-origin' });
        if (res.ok) {
          location.assign('/dashboard');
          return;
        }
        let body: { error?: { code?: string; message?: string } } | undefined;
        try {
          body = (await res.json()) as typeof body;
        } catch {
          body = undefined;
        }
        const retry = res.headers.get('retry-after');
        const message = body?.error?.message ?? res.statusText;
        show(body?.error?.code ?? `HTTP_${res.status}`, retry ? `${message} (try again in ${retry} s)` : message);
      } catch {
        show('ERR_NETWORK', 'the server cannot be reached');
      } finally {
        submit.disabled = false;
      }
    })();
  });
}
