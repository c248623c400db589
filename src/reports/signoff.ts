/** Renderings of a sign-off record: signoff.md and the terminal checklist. */
import type { SignoffCheck } from '../results/signoff/evaluate.js';
import type { SignoffRecord } from '../results/signoff/record.js';

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** signoff.md: verdict, identity (hashes, commit, devices), and the checklist as a table. */
export function signoffMarkdown(r: SignoffRecord): string {
  const lines: string[] = [];
  lines.push(`# benchalign sign-off: ${r.verdict === 'pass' ? '✔ PASSED' : '✘ FAILED'}`, '', r.summary, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| policy | ${esc(r.policy.name ?? r.policy.path)} (\`${r.policy.path}\`), sha256 \`${r.policy.sha256}\` |`);
  lines.push(`| run | \`${r.run.id}\` (${r.run.status}, ${r.run.mode}), from ${r.run.source} \`${esc(r.run.ref)}\`, started ${r.run.startedAt} |`);
  lines.push(`| suite | ${esc(r.suite.name)}, sha256 \`${r.suite.sha256}\` |`);
  lines.push(`| results sha256 | \`${r.resultsSha256}\` (canonical JSON) |`);
  lines.push(`| git commit | ${r.git.commit ? `\`${r.git.commit}\`${r.git.branch ? ` (${esc(r.git.branch)})` : ''}` : 'unknown'}, from the ${r.git.source} |`);
  lines.push(`| baseline | tag \`${r.baseline.tag}\`${r.baseline.runId ? `: run \`${r.baseline.runId}\`` : ''}${r.baseline.note ? ` (${esc(r.baseline.note)})` : ''} |`);
  if (r.promotion) lines.push(`| promotion | ${r.promotion.promoted ? `tagged \`${r.promotion.tag}\`` : 'not promoted'}: ${esc(r.promotion.note)} |`);
  lines.push('');
  lines.push('## Devices', '', '| hash | host | CPU | cores | memory | OS | GPUs | engines |', '|---|---|---|---:|---:|---|---|---|');
  for (const d of r.devices) {
    const gpus = d.gpus.map((g) => `${g.model}${g.driver ? ` (driver ${g.driver})` : ''}`).join(', ') || 'none';
    const engines = Object.entries(d.engineVersions).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| \`${d.hash.slice(0, 12)}\` | ${esc(d.hostname)} | ${esc(d.cpuModel)} | ${d.cpuCores} | ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB | ${esc(`${d.os} ${d.kernel}`)} | ${esc(gpus)} | ${esc(engines)} |`);
  }
  if (r.devices.length === 0) lines.push('| (none recorded) | | | | | | | |');
  lines.push('', '## Checklist', '', '| | source | job | check | why |', '|---|---|---|---|---|');
  for (const c of r.checks) lines.push(`| ${c.passed ? '✔' : '✘'} | ${c.source} | ${c.job !== undefined ? `\`${esc(c.job)}\`` : ''} | ${esc(c.text)} | ${esc(c.why ?? '')} |`);
  lines.push('');
  return lines.join('\n');
}

/** The terminal output: header, one line per check, summary. */
export function signoffText(r: SignoffRecord): string {
  const head = `benchalign signoff: policy ${r.policy.name ?? r.policy.path} (sha256 ${r.policy.sha256.slice(0, 12)}), run ${r.run.id}, results sha256 ${r.resultsSha256.slice(0, 12)}`;
  const promo = r.promotion ? [`${r.promotion.promoted ? 'Promoted' : 'Not promoted'}: ${r.promotion.note}`] : [];
  return [head, ...checklistLines(r.checks).map((l) => `  ${l}`), r.summary, ...promo].join('\n');
}

/** The checklist for the terminal: one line per check, ✔ or ✘, and why when ✘. */
export function checklistLines(checks: readonly SignoffCheck[]): string[] {
  return checks.map((c) => {
    const who = c.job !== undefined ? ` ${c.job}` : '';
    const why = c.why !== undefined ? (c.passed ? ` (${c.why})` : ` — ${c.why}`) : '';
    return `${c.passed ? '✔' : '✘'} ${c.source}${who}: ${c.text}${why}`;
  });
}
