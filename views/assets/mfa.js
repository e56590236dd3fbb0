// Passkeys on Gatehouse's pages, with @simplewebauthn/browser (loaded before this file). Every page also works
// without JavaScript for everything except passkeys themselves, which need it.
// A form marked data-passkey carries the WebAuthn options (JSON) in its disabled data-options field; the browser's answer goes into its
// hidden `credential` field and the form is posted as usual (the page CSP allows no fetch).
const lib = globalThis.SimpleWebAuthnBrowser;
if (lib?.browserSupportsWebAuthn()) {
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const optionsJSON = JSON.parse(form.querySelector('input[data-options]')?.value ?? '{}');
    const field = form.querySelector('input[name="credential"]');
    const status = form.querySelector('[data-passkey-status]');
    for (const el of form.querySelectorAll('[data-needs-passkeys]')) el.hidden = false;
    const run = async (autofill) => {
      const kind = form.dataset.passkey;
      const answer = kind === 'register' ? await lib.startRegistration({ optionsJSON }) : await lib.startAuthentication({ optionsJSON, useBrowserAutofill: autofill });
      field.value = JSON.stringify(answer);
      form.submit();
    };
    const fail = (err) => {
      if (status && err?.name !== 'AbortError') status.hidden = false;
    };
    form.addEventListener('submit', (event) => {
      if (field.value) return;
      event.preventDefault();
      run(false).catch(fail);
    });
    // The browser offers passkeys in the username field's autofill (conditional mediation).
    if (form.dataset.autofill === 'true') {
      lib.browserSupportsWebAuthnAutofill().then((ok) => ok && run(true).catch(fail));
    }
  }
}
