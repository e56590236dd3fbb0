// The demo page's only script, loaded inline with the page's CSP nonce. It never sees a token: it asks the
// backend-for-frontend to call the API, and shows the answer, the access-token countdown and the event log.
(() => {
  const state = JSON.parse(document.getElementById('state').textContent);
  const countdown = document.getElementById('countdown');
  const answer = document.getElementById('answer');
  const log = document.getElementById('log');

  function renderLog(events) {
    log.replaceChildren(
      ...events
        .slice()
        .reverse()
        .map((e) => {
          const li = document.createElement('li');
          const time = document.createElement('time');
          time.textContent = new Date(e.at).toLocaleTimeString();
          const tag = document.createElement('span');
          tag.className = `tag tag-${e.kind}`;
          tag.textContent = e.kind;
          li.append(time, tag, document.createTextNode(e.text));
          li.dataset.kind = e.kind;
          return li;
        }),
    );
  }

  function tick() {
    if (!countdown || !state.expiresAt) return;
    const left = Math.ceil((state.expiresAt - Date.now()) / 1000);
    countdown.textContent = left > 0 ? `expires in ${left} s` : 'expired (the next API call gets a 401, then refreshes silently)';
    countdown.classList.toggle('expired', left <= 0);
    countdown.dataset.expired = String(left <= 0);
  }

  async function callApi(which) {
    answer.textContent = 'calling…';
    let res;
    try {
      res = await fetch(`/call/${which}`, { method: 'POST', headers: { 'x-demo-request': '1' } });
    } catch {
      answer.textContent = 'The demo client is unreachable.';
      return;
    }
    const out = await res.json();
    answer.textContent = `HTTP ${out.status}\n${JSON.stringify(out.body, null, 2)}`;
    answer.dataset.status = String(out.status);
    state.expiresAt = out.expiresAt;
    renderLog(out.events || []);
    tick();
    if (!out.signedIn) window.location.assign(out.next || '/');
  }

  for (const button of document.querySelectorAll('button[data-call]')) {
    button.addEventListener('click', () => callApi(button.dataset.call));
  }
  renderLog(state.events || []);
  tick();
  setInterval(tick, 1000);
})();
