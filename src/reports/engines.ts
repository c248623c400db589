/** Formats `benchalign engines list`. */
import type { EngineListing } from '../runners/registry.js';

/** One line per engine: name, available or not, version and devices, or the reason. */
export function formatEngineList(list: readonly EngineListing[]): string {
  const width = Math.max(6, ...list.map((e) => e.name.length));
  const lines = list.map((e) => {
    const a = e.availability;
    const head = `${e.name.padEnd(width)}  ${a.available ? 'available  ' : 'unavailable'}`;
    return a.available ? `${head}  ${a.version}  devices: ${a.devices.join(', ') || '-'}` : `${head}  ${a.reason}`;
  });
  return `${lines.join('\n')}\n`;
}
