// Progressive enhancement for Gatehouse's pages: every page works without this script.
// The show-password button stays hidden until this script can make it work.
for (const button of document.querySelectorAll('button[data-toggles-password]')) {
  const input = document.getElementById(button.getAttribute('aria-controls') ?? '');
  if (!(input instanceof HTMLInputElement)) continue;
  button.hidden = false;
  button.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    button.setAttribute('aria-pressed', String(show));
  });
  // Submit as a password field, so the browser neither keeps it in form history nor offers it as plain text.
  input.form?.addEventListener('submit', () => {
    input.type = 'password';
    button.setAttribute('aria-pressed', 'false');
  });
}
