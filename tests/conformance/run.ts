/**
 * `npm run conformance`: runs tests/conformance/ with ava and prints one row per reproduced suite module:
 * plan, module, result (PASSED, WARNING, SKIPPED as the real suite would, FAILED, or NOT RUN) and warnings.
 * Each test writes its verdict to CONFORMANCE_RESULTS_DIR (see harness.ts `conformanceModule`).
 * Exits non-zero when ava fails or a module is missing or failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleVerdict } from './harness.ts';

/** Every module of the three plans we reproduce, in the suite's plan order (OIDCCBasicTestPlan & co). */
export const PLANS: Record<string, string[]> = {
  'oidcc-basic-certification-test-plan': [
    'oidcc-server',
    'oidcc-response-type-missing',
    'oidcc-idtoken-signature',
    'oidcc-idtoken-unsigned',
    'oidcc-userinfo-get',
    'oidcc-userinfo-post-header',
    'oidcc-userinfo-post-body',
    'oidcc-ensure-request-without-nonce-succeeds-for-code-flow',
    'oidcc-scope-profile',
    'oidcc-scope-email',
    'oidcc-scope-address',
    'oidcc-scope-phone',
    'oidcc-scope-all',
    'oidcc-alternate-happy-flow',
    'oidcc-display-page',
    'oidcc-display-popup',
    'oidcc-prompt-login',
    'oidcc-prompt-none-not-logged-in',
    'oidcc-prompt-none-logged-in',
    'oidcc-max-age-1',
    'oidcc-max-age-10000',
    'oidcc-ensure-request-with-unknown-parameter-succeeds',
    'oidcc-id-token-hint',
    'oidcc-login-hint',
    'oidcc-ui-locales',
    'oidcc-claims-locales',
    'oidcc-ensure-request-with-acr-values-succeeds',
    'oidcc-codereuse',
    'oidcc-codereuse-30seconds',
    'oidcc-ensure-registered-redirect-uri',
    'oidcc-ensure-post-request-succeeds',
    'oidcc-server-client-secret-post',
    'oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported',
    'oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported',
    'oidcc-claims-essential',
    'oidcc-ensure-request-object-with-redirect-uri',
    'oidcc-refresh-token',
    'oidcc-ensure-request-with-valid-pkce-succeeds',
  ],
  'oidcc-config-certification-test-plan': ['oidcc-discovery-endpoint-verification'],
  'oidcc-rp-initiated-logout-certification-test-plan': [
    'oidcc-rp-initiated-logout-discovery-endpoint-verification',
    'oidcc-rp-initiated-logout',
    'oidcc-rp-initiated-logout-bad-post-logout-redirect-uri',
    'oidcc-rp-initiated-logout-modified-id-token-hint',
    'oidcc-rp-initiated-logout-no-id-token-hint',
    'oidcc-rp-initiated-logout-no-params',
    'oidcc-rp-initiated-logout-no-post-logout-redirect-uri',
    'oidcc-rp-initiated-logout-no-state',
    'oidcc-rp-initiated-logout-only-state',
    'oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri',
    'oidcc-rp-initiated-logout-bad-id-token-hint',
  ],
};

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(rows[0] as string[]),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));
const ava = spawnSync(join(import.meta.dirname, '../../node_modules/.bin/ava'), ['tests/conformance/'], {
  cwd: join(import.meta.dirname, '../..'),
  env: { ...process.env, CONFORMANCE_RESULTS_DIR: dir },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const verdicts = new Map<string, ModuleVerdict>();
for (const file of readdirSync(dir)) {
  const v = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ModuleVerdict;
  verdicts.set(v.module, v);
}
rmSync(dir, { recursive: true, force: true });

const rows = [['plan', 'module', 'result', 'warnings / note']];
let bad = 0;
for (const [plan, modules] of Object.entries(PLANS)) {
  for (const module of modules) {
    const v = verdicts.get(module);
    if (!v || v.result === 'FAILED') bad++;
    const detail = v ? [...v.warnings, ...(v.note ? [v.note] : [])].join('; ') : '';
    rows.push([plan.replace('-certification-test-plan', ''), module, v?.result ?? 'NOT RUN', detail]);
  }
}
console.log(`\n${table(rows)}\n`);
// Only the plans' modules count; extra tests (e.g. the same checks on Redis) write verdicts too.
const planVerdicts = Object.values(PLANS)
  .flat()
  .flatMap((m) => verdicts.get(m) ?? []);
const count = (r: string) => planVerdicts.filter((v) => v.result === r).length;
console.log(
  `${planVerdicts.length} modules: ${count('PASSED')} passed, ${count('WARNING')} with warnings, ${count('SKIPPED')} skipped (as the real suite would), ${count('FAILED')} failed`,
);
process.exit(ava.status !== 0 || bad > 0 ? 1 : 0);
