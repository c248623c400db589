/**
 * resetPeakRss: a worker that served a large model and then a small one reports the small one's
 * peak, not the large one's. A real Python process allocates 300 MB, frees it, and waits; its
 * VmHWM stays high until the reset and drops to its current RSS after it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcStatus, resetPeakRss } from '../../../src/metrics/samplers/procfs.js';

const linux = process.platform === 'linux';
if (!linux) console.log('skipped: /proc/<pid>/clear_refs is Linux only');

describe.skipIf(!linux)('resetPeakRss', () => {
  it('drops VmHWM of a live process from its earlier 300 MB peak to its current RSS', async () => {
    const child = spawn('python3', ['-c', 'import sys,time\nb=bytearray(300*2**20)\ndel b\nprint("freed", flush=True)\ntime.sleep(30)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => (d.toString().includes('freed') ? resolve() : undefined));
        child.on('error', reject);
      });
      const pid = child.pid as number;
      const before = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
      expect(before.hwmBytes).toBeGreaterThan(300 * 2 ** 20);
      expect(before.rssBytes).toBeLessThan(100 * 2 ** 20);
      expect(resetPeakRss(pid)).toBe(true);
      const after = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
      expect(after.hwmBytes).toBeLessThan(100 * 2 ** 20);
      expect(after.hwmBytes).toBeGreaterThanOrEqual((after.rssBytes ?? 0) - 2 ** 20);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is false for a process that does not exist', () => {
    expect(resetPeakRss(2 ** 22 + 12345)).toBe(false);
  });
});
