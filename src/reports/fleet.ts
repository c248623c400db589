/** What `benchalign runs status` prints for a run on the fleet queue: its state and counts, then one line per job. */
import type { RunStatus } from '../agents/queue/runs.js';

export function runStatusText(s: RunStatus): string {
  const lines = [`run ${s.runId}: ${s.state}; ${Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(', ')}\n`];
  for (const j of s.jobs) lines.push(`  ${j.key}: ${j.state}${j.agent !== undefined ? ` on ${j.agent}` : ''}${j.state === 'running' && s.spec.repeats > 1 ? ` (${j.repeatsDone}/${s.spec.repeats} repeats)` : ''}${j.attempt > 1 ? ` (attempt ${j.attempt})` : ''}${j.status !== undefined ? ` - ${j.status}` : ''}\n`);
  return lines.join('');
}
