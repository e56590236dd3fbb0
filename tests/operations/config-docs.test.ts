/**
 * The configuration reference cannot drift from the schema: docs/configuration.md must be exactly what
 * src/config/docs.ts renders from src/config/schema.ts and config/default.json, and it names every setting
 * with its env variable.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { REFERENCE_PATH, renderConfigurationReference } from '../../src/config/docs.ts';
import { envSettingGroups } from '../../src/config/demo-settings.ts';
import { settings } from '../../src/config/schema.ts';

test('docs/configuration.md is what `npm run config:docs` generates (run it after changing the schema)', (t) => {
  t.is(readFileSync(REFERENCE_PATH, 'utf8'), renderConfigurationReference());
});

test('every setting appears with its env name, type and default', (t) => {
  const doc = renderConfigurationReference();
  for (const s of settings) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${s.key}\` |`));
    t.truthy(line, s.key);
    const env = s.env ? `\`${s.env}\`` : '(file only)';
    t.true(line?.startsWith(`| \`${s.key}\` | ${env} |`), `${s.key}: env column ${env}`);
  }
  t.regex(doc, /\| `metrics\.token` \| `METRICS_TOKEN` \| string \| \(empty\) \|/);
  t.regex(doc, /\| `ttl\.accessToken` \| `ACCESS_TOKEN_TTL` \| integer 1–86400 \| `900` \|/);
});

test('the generator follows the defaults it is given (a changed default changes the document)', (t) => {
  const defaults = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8'));
  defaults.ttl.accessToken = 1234;
  t.regex(
    renderConfigurationReference(defaults),
    /\| `ttl\.accessToken` \| `ACCESS_TOKEN_TTL` \| integer 1–86400 \| `1234` \|/,
  );
});

test('the demo applications have their own sections, every variable with its type and default', (t) => {
  const doc = renderConfigurationReference();
  for (const group of envSettingGroups) {
    const section = doc.split(`\n## ${group.title}\n`)[1]?.split('\n## ')[0] ?? '';
    for (const s of Object.values(group.settings))
      t.true(section.includes(`| \`${s.env}\` |`), `${group.title}: ${s.env}`);
  }
  t.regex(doc, /\| `DEMO_PORT` \| integer 0–65535 \| `5000` \|/);
  t.regex(doc, /\| `API_CLIENT_SECRET` \| string \(not empty\) \| \(none\) \|/);
});
