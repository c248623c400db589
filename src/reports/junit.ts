/** junit.xml: one testcase per model × engine; alignment failures fail, errored jobs error. */
import type { JobResult, RunResults } from '../model/record.js';
import { summarizeAlignment } from './summary.js';

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

function caseXml(j: JobResult): string {
  const name = `${j.model.name} × ${j.engine.name} (${j.engine.precision})`;
  const seconds = Math.max(0, (Date.parse(j.endedAt) - Date.parse(j.startedAt)) / 1000);
  const open = `    <testcase classname="${esc(j.model.name)}" name="${esc(name)}" time="${seconds.toFixed(3)}">`;
  const body: string[] = [];
  if (j.status === 'errored') {
    body.push(`      <error message="${esc(j.reason ?? 'errored')}">${esc(j.stderrTail ?? '')}</error>`);
  } else if (j.status === 'skipped') {
    body.push(`      <skipped message="${esc(j.reason ?? 'skipped')}"/>`);
  } else {
    const failing = (j.alignment ?? []).filter((o) => !o.passed);
    if (j.status === 'failed' || failing.length > 0) {
      const detail = failing.map((o) => `${o.name}: ${o.reasons.join('; ')}`).join('\n');
      body.push(`      <failure message="${esc(j.reason ?? `${failing.length} output(s) not aligned`)}">${esc(detail)}</failure>`);
    }
  }
  const a = summarizeAlignment(j);
  const p50 = j.latency?.percentiles.p50;
  const props = [
    p50 ? `p50_ms=${p50.value}` : '',
    j.latency ? `p99_ms=${j.latency.percentiles.p99.value}` : '',
    a.maxAbsError !== undefined ? `max_abs_error=${a.maxAbsError}` : '',
  ].filter(Boolean);
  if (props.length > 0) body.push(`      <system-out>${esc(props.join('\n'))}</system-out>`);
  return [open, ...body, '    </testcase>'].join('\n');
}

export function toJunit(results: RunResults): string {
  const jobs = results.jobs;
  const failures = jobs.filter((j) => j.status !== 'errored' && j.status !== 'skipped' && (j.status === 'failed' || (j.alignment ?? []).some((o) => !o.passed))).length;
  const errors = jobs.filter((j) => j.status === 'errored').length;
  const skipped = jobs.filter((j) => j.status === 'skipped').length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="benchalign" tests="${jobs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">`,
    `  <testsuite name="${esc(results.suite.name)}" tests="${jobs.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" timestamp="${esc(results.run.startedAt)}">`,
    ...jobs.map(caseXml),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
