/**
 * Ctrl-C and SIGTERM for the commands that run a suite (`run`, `signoff`): the first signal aborts the run gracefully
 * (the run folder is still written, the run recorded as interrupted), a second one exits at once with ExitCode.Infra.
 */
import { ExitCode } from '../errors.js';

export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM once installed. */
  signal: AbortSignal;
  /** Starts handling SIGINT and SIGTERM (until then a signal ends the process at once). Idempotent. */
  install: () => void;
  /** Stops handling them. */
  dispose: () => void;
}

export function interruptOnSignals(): Interrupt {
  const controller = new AbortController();
  let installed = false;
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(ExitCode.Infra);
    process.stderr.write('\nbenchalign: interrupted; finishing the run folder (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  return {
    signal: controller.signal,
    install: () => {
      if (installed) return;
      installed = true;
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    dispose: () => {
      installed = false;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
