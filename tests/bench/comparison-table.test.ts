/**
 * The bench's comparison table (bench/lib/report.ts): with BENCH_BASELINE the second Gatehouse is a baseline
 * checkout and the table says what the change bought, Gatehouse / baseline as the median of the per-round ratios
 * (docs/performance.md "Measuring a change"); without it the second Gatehouse is the quiet one and there is no such
 * column.
 */
import test from 'ava';
import { comparisonTable } from '../../bench/lib/report.ts';
import type { Comparison } from '../../bench/scenarios/peer.ts';

const refresh: Comparison = {
  scenario: 'peer-refresh',
  metric: 'refresh req/s',
  unit: 'req/s',
  better: 'higher',
  gatehouse: 1100,
  peer: 1000,
  ratio: 1.1,
  quiet: 1000,
  quietRatio: 1,
  rounds: [
    { gatehouse: 1100, peer: 1000, quiet: 1000, load1: [1, 1, 1] },
    { gatehouse: 1200, peer: 1000, quiet: 1000, load1: [1, 1, 1] },
    { gatehouse: 900, peer: 1000, quiet: 1000, load1: [1, 1, 1] },
  ],
};

const cells = (line: string) =>
  line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());

test('with a baseline, the table has Gatehouse / baseline: the median of the per-round ratios', (t) => {
  const [head, , row] = comparisonTable([refresh], 'baseline').split('\n');
  const columns = cells(head as string);
  t.deepEqual(columns.slice(6, 9), ['gatehouse baseline', 'baseline ratio', 'gatehouse / baseline']);
  t.is(cells(row as string)[columns.indexOf('gatehouse / baseline')], '1.10');
});

test('without a baseline, the second Gatehouse is the quiet one and nothing is compared with a baseline', (t) => {
  const [head] = comparisonTable([refresh]).split('\n');
  const columns = cells(head as string);
  t.true(columns.includes('gatehouse quiet'));
  t.false(columns.some((c) => c.includes('baseline')));
});
