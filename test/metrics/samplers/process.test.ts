import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { summarizeResources } from '../../../src/metrics/resources.js';
import { ResourceSampler } from '../../../src/metrics/samplers/sampler.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];

function child(code: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  children.push(c);
  return c;
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('ResourceSampler on real processes', () => {
  it('a busy child uses > 50% of a core, a sleeping one < 20%, sampled at >= 20 Hz', async () => {
    const busy = child('for(;;){}');
    const idle = child('setTimeout(() => {}, 1e6)');
    await sleep(400); // past node's start-up
    const sBusy = new ResourceSampler({ nvidiaSmi: false });
    const sIdle = new ResourceSampler({ nvidiaSmi: false, clockOriginNs: sBusy.clockOriginNs });
    sBusy.start(busy.pid!);
    sIdle.start(idle.pid!);
    await sleep(1500);
    const end = sBusy.nowMs();
    const busySamples = sBusy.stop();
    const idleSamples = sIdle.stop();
    const busySum = summarizeResources(busySamples, { startMs: 0, endMs: end }, 0);
    const idleSum = summarizeResources(idleSamples, { startMs: 0, endMs: end }, 0);
    expect(busySum.cpuPctMean).toBeGreaterThan(50);
    expect(idleSum.cpuPctMean).toBeLessThan(20);
    expect(busySum.peakRssBytes).toBeGreaterThan(0);
    expect(busySamples.every((s) => (s.rssBytes ?? 0) > 0)).toBe(true);
    expect(busySum.sampleRateHz).toBeGreaterThanOrEqual(20);
    // timestamps on the shared clock, increasing
    for (let i = 1; i < busySamples.length; i++) expect(busySamples[i]!.tMs).toBeGreaterThan(busySamples[i - 1]!.tMs);
  });

  it('a child that allocates 200 MB after loading shows VmHWM growth between the marks', async () => {
    const alloc = child(
      'setTimeout(() => { const b = Buffer.alloc(200 * 1024 * 1024); b.fill(1); globalThis.keep = b; setTimeout(() => {}, 1e6); }, 600)',
    );
    await sleep(250);
    const s = new ResourceSampler({ nvidiaSmi: false });
    s.start(alloc.pid!);
    s.mark('loaded');
    await sleep(1300);
    s.mark('steady-end');
    const end = s.nowMs();
    const samples = s.stop();
    const sum = summarizeResources(samples, { startMs: 0, endMs: end }, 1, s.marks());
    expect(sum.inferencePeakIncreaseBytes).toBeGreaterThan(150 * 1024 * 1024);
    expect(sum.peakRssBytes).toBeGreaterThan(200 * 1024 * 1024);
  });
});
