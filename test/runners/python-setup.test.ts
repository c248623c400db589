/**
 * `benchalign engines setup`'s choice of requirement lines (pure: reads the repository's
 * requirement files, installs nothing): every Python engine's packages are pinned exactly, and
 * litert-torch's chain comes from requirements-engines-nodeps.txt (pip --no-deps).
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_PACKAGES, noDepsRequirementsFor, requirementsFor } from '../../src/runners/python/setup.js';

describe('engines setup requirement lines', () => {
  it('pins every package of every Python engine exactly (==), in one of the two files', () => {
    const all = Object.keys(ENGINE_PACKAGES);
    const lines = [...requirementsFor(all), ...noDepsRequirementsFor(all)];
    for (const [engine, packages] of Object.entries(ENGINE_PACKAGES)) {
      for (const p of packages) {
        const line = lines.find((l) => l.toLowerCase().startsWith(`${p.toLowerCase()}==`));
        expect(line, `${engine}: ${p}`).toMatch(/^[A-Za-z0-9._-]+==\d[\w.]*$/);
      }
    }
    expect(requirementsFor(all)).toContain('torch==2.13.0');
  });

  it('installs litert-torch and what pins typing-extensions<4.13 without their declared dependencies; no other engine needs --no-deps', () => {
    expect(noDepsRequirementsFor(['litert'])).toEqual(['litert-torch==0.10.0', 'litert-converter==0.5.0', 'ai-edge-quantizer==0.10.0', 'litert-lm-builder==0.18.1', 'xdsl==0.28.0']);
    expect(requirementsFor(['litert'])).toContain('ai-edge-litert==2.3.0');
    expect(requirementsFor(['litert']).some((l) => l.startsWith('litert-torch'))).toBe(false);
    for (const e of Object.keys(ENGINE_PACKAGES).filter((x) => x !== 'litert')) expect(noDepsRequirementsFor([e]), e).toEqual([]);
  });

  it('an unknown engine is a usage error naming the known ones', () => {
    expect(() => requirementsFor(['tflite'])).toThrow(/unknown Python engine\(s\) tflite/);
  });
});
