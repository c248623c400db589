/**
 * `benchalign engines setup`: creates or updates the venv of the Python engines from the
 * pinned requirement files (requirements.txt: PyTorch and the reference tooling;
 * requirements-engines.txt: ncnn, pnnx, MNN, OpenVINO, OpenCV, TVM, ExecuTorch, LiteRT; requirements-zoo.txt: transformers, for
 * `benchalign zoo`). Idempotent: a stamp with the hash of
 * the requirement lines chosen makes a second call a no-op.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { BenchalignError } from '../../errors.js';
import { packageRoot, venvDir } from './env.js';

/** The pip packages (from requirements-engines.txt) each Python engine needs beyond requirements.txt. */
export const ENGINE_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  ncnn: ['ncnn', 'pnnx'],
  mnn: ['MNN'],
  openvino: ['openvino'],
  opencv: ['opencv-python-headless'],
  tvm: ['apache-tvm', 'apache-tvm-ffi', 'psutil', 'xgboost-cpu'],
  executorch: ['executorch', 'torchao'],
  litert: [
    'ai-edge-litert',
    ...['absl-py', 'jax', 'jaxlib', 'jaxtyping', 'multipledispatch', 'immutabledict', 'ordered-set', 'lark', 'fire', 'tomli', 'rich', 'torchao'],
    ...['litert-torch', 'litert-converter', 'ai-edge-quantizer', 'litert-lm-builder', 'xdsl'],
  ],
  pytorch: [],
};

export interface SetupOptions {
  /** Engines to install. Default: all of {@link ENGINE_PACKAGES}. */
  engines?: readonly string[];
  /** Interpreter that creates the venv. Default: BENCHALIGN_BOOTSTRAP_PYTHON or `python3`. */
  bootstrapPython?: string;
  /** Also install requirements-zoo.txt (transformers, for `benchalign zoo prepare`). Default true. */
  zoo?: boolean;
  /** Where pip's and venv's output goes. Default: process.stderr. */
  log?: (line: string) => void;
}

export interface SetupResult {
  venv: string;
  engines: string[];
  /** False when the venv already matched (nothing was run). */
  changed: boolean;
}

function requirementLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
}

function packageOf(line: string): string {
  return (line.split(/[=<>!~;[ ]/)[0] ?? '').toLowerCase();
}

/** The requirement lines for `engines` (base requirements first). */
export function requirementsFor(engines: readonly string[]): string[] {
  const root = packageRoot();
  const unknown = engines.filter((e) => !(e in ENGINE_PACKAGES));
  if (unknown.length > 0) {
    throw new BenchalignError('E_USAGE', `engines setup: unknown Python engine(s) ${unknown.join(', ')}`, {
      expected: `some of ${Object.keys(ENGINE_PACKAGES).join(', ')}`,
    });
  }
  const wanted = new Set(engines.flatMap((e) => ENGINE_PACKAGES[e] ?? []).map((p) => p.toLowerCase()));
  const pins = requirementLines(join(root, 'requirements-engines.txt'));
  const chosen = pins.filter((l) => wanted.has(packageOf(l)));
  const noDeps = noDepsRequirementsFor(engines);
  const missing = [...wanted].filter((p) => ![...chosen, ...noDeps].some((l) => packageOf(l) === p));
  if (missing.length > 0) {
    throw new BenchalignError('E_INTERNAL', `requirements-engines.txt has no pin for ${missing.join(', ')}`);
  }
  return [...requirementLines(join(root, 'requirements.txt')), ...chosen];
}

/**
 * The requirement lines for `engines` that are installed with `pip install --no-deps`
 * (requirements-engines-nodeps.txt: packages whose declared requirements contradict another
 * engine's, while their real imports are pinned in requirements-engines.txt).
 */
export function noDepsRequirementsFor(engines: readonly string[]): string[] {
  const wanted = new Set(engines.flatMap((e) => ENGINE_PACKAGES[e] ?? []).map((p) => p.toLowerCase()));
  const file = join(packageRoot(), 'requirements-engines-nodeps.txt');
  return existsSync(file) ? requirementLines(file).filter((l) => wanted.has(packageOf(l))) : [];
}

/** The pinned lines of requirements-zoo.txt (the zoo's model library and everything it brings). */
export function zooRequirementLines(): string[] {
  return requirementLines(join(packageRoot(), 'requirements-zoo.txt'));
}

function run(argv: string[], log: (line: string) => void): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    const onData = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        last = line;
        if (!line.startsWith('Requirement already satisfied')) log(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => reject(new BenchalignError('E_INFRA', `cannot start ${command}: ${e.message}`, { expected: 'Python 3.10+ with venv and pip' })));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new BenchalignError('E_INFRA', `${argv.slice(0, 4).join(' ')} ... exited with code ${code}: ${last}`, { expected: 'pip to reach the package index' })),
    );
  });
}

/** Creates or updates the engines' venv. */
export async function setupEngines(options: SetupOptions = {}): Promise<SetupResult> {
  const engines = [...(options.engines ?? Object.keys(ENGINE_PACKAGES))].sort();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const lines = [...new Set([...requirementsFor(engines), ...(options.zoo === false ? [] : zooRequirementLines())])];
  const venv = venvDir();
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.benchalign-engines.sha256');
  const noDeps = noDepsRequirementsFor(engines);
  const want = createHash('sha256').update([...lines, ...(noDeps.length > 0 ? ['--no-deps', ...noDeps] : [])].join('\n')).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) {
    return { venv, engines, changed: false };
  }
  if (!existsSync(python)) {
    const bootstrap = options.bootstrapPython ?? process.env.BENCHALIGN_BOOTSTRAP_PYTHON ?? 'python3';
    log(`engines setup: creating ${venv}`);
    await run([bootstrap, '-m', 'venv', venv], log);
  }
  const reqFile = join(venv, 'benchalign-requirements.txt');
  await writeFile(reqFile, lines.join('\n') + '\n');
  log(`engines setup: installing ${lines.join(' ')} into ${venv}`);
  await run([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', reqFile], log);
  if (noDeps.length > 0) {
    const noDepsFile = join(venv, 'benchalign-requirements-nodeps.txt');
    await writeFile(noDepsFile, noDeps.join('\n') + '\n');
    log(`engines setup: installing ${noDeps.join(' ')} into ${venv} (--no-deps)`);
    await run([python, '-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '--no-deps', '-r', noDepsFile], log);
  }
  await writeFile(stamp, `${want}\n`);
  return { venv, engines, changed: true };
}
