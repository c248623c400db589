/**
 * Runner agents as configuration: an `agents.yaml` file, or the `agents:` list of a suite.
 * Strict zod objects, so an unknown key is an error at its path (same reporting as suites).
 */
import { z } from 'zod';
import { strict } from './schema-kit.js';

/** Label names and values: what `--labels k=v` on an agent accepts. */
const LabelKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, { error: 'expected a label name of letters, digits, ".", "_", "/" or "-"' });
const LabelValue = z.string().regex(/^[A-Za-z0-9._/:*-]*$/, { error: 'expected a label value of letters, digits, ".", "_", "/", ":", "-" (or "*")' });

export const LabelsSchema = z.record(LabelKey, LabelValue).describe('Labels by name, e.g. { gpu: nvidia, arch: arm64, board: rk3588 }.');

export const AgentUrlSchema = z
  .string()
  .regex(/^(local|stdio|ssh:\/\/[^\s/?#]+|https?:\/\/[^\s/?#]+\/?)$/, {
    error: 'expected local, stdio, ssh://user@host[:port] or http(s)://host:port',
  })
  .describe('How to reach the agent: `local` (in this process), `stdio` (a child `benchalign agent stdio`), `ssh://user@host[:port]`, `http://host:port` or `https://host:port` (a `benchalign agent serve` daemon).');

export const AgentEntrySchema = strict(
  {
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'expected an agent name of letters, digits, ".", "_" or "-"' })
      .describe('Agent name, unique; results record it for every job the agent ran.'),
    url: AgentUrlSchema,
    labels: LabelsSchema.default({}).describe('Labels of this agent, merged with those it reports itself (arch, os, gpu and its --labels; the agent’s own win).'),
    tokenFile: z.string().min(1).optional().describe('http(s): file holding the bearer token (relative to the agents file; ~ expands).'),
    tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('http(s): environment variable holding the bearer token (used when tokenFile is not given).'),
    caFile: z.string().min(1).optional().describe('https: PEM file of the certificate authority (or the self-signed certificate) to trust.'),
    identity: z.string().min(1).optional().describe('ssh: private key file (ssh -i).'),
    knownHosts: z.string().min(1).optional().describe('ssh: known_hosts file the host key must be in. Default ~/.ssh/known_hosts. Host keys are always checked (StrictHostKeyChecking=yes).'),
    remoteCommand: z.string().min(1).optional().describe('ssh: command run on the host. Default `benchalign agent stdio`.'),
    command: z.array(z.string().min(1)).min(1).optional().describe('stdio: argv of the agent process. Default: this benchalign with `agent stdio`.'),
    connectTimeoutMs: z.number().positive().optional().describe('Connecting and the first `info`, in milliseconds. Default 20000.'),
  },
  'One runner agent.',
  { id: 'Agent' },
);

export const AgentSelectorSchema = strict(
  {
    labels: LabelsSchema.describe('Labels an agent must have (each equal; "*" only asks the label to exist).'),
  },
  'Which agents may run these jobs: all the labels must match.',
  { id: 'AgentSelector' },
);

export const AgentsFileSchema = strict(
  {
    agents: z.array(AgentEntrySchema).min(1).describe('The agents.'),
    maxAttempts: z.int().min(1).max(20).optional().describe('Attempts per job when agents fail (transport closed, agent died, timeout); each retry goes to another matching agent when there is one. Default 3.'),
    queueTimeoutMs: z.number().positive().optional().describe('How long a job may wait for a busy agent’s device before it counts as an agent failure, in milliseconds. Default 600000.'),
    timeoutGraceMs: z.number().min(0).optional().describe('An agent that has not answered a job within the job’s timeoutMs plus this is stuck: the job is retried elsewhere, in milliseconds. Default 30000.'),
  },
  'An agents file (agents.yaml): the runner agents a run may use.',
  { title: 'benchalign agents' },
);

/** The suite's `agents:` value: a list of agents, or a mapping with the list, an agents file and a selector. */
export const SuiteAgentsSchema = z
  .union([
    z.array(AgentEntrySchema).min(1),
    strict(
      {
        file: z.string().min(1).optional().describe('An agents file (relative to the suite file).'),
        list: z.array(AgentEntrySchema).min(1).optional().describe('Agents defined in the suite.'),
        labels: LabelsSchema.optional().describe('Labels every agent running this suite must have.'),
        maxAttempts: AgentsFileSchema.shape.maxAttempts,
      },
      'Agents of the suite: a list, a file, and labels they must all have.',
      { id: 'SuiteAgents' },
    ),
  ])
  .describe('Runner agents to run this suite on (a list, or { file, list, labels }). `benchalign run --agents F` replaces the list and file.');

export type AgentEntry = z.output<typeof AgentEntrySchema>;
export type AgentsFile = z.output<typeof AgentsFileSchema>;
export type SuiteAgents = z.output<typeof SuiteAgentsSchema>;
export type AgentSelector = z.output<typeof AgentSelectorSchema>;

/** docs/agents.schema.json's exact text: the JSON Schema of agents files (draft 7), for editors. */
export function agentsJsonSchemaText(): string {
  return `${JSON.stringify(z.toJSONSchema(AgentsFileSchema, { io: 'input', target: 'draft-7' }), null, 2)}\n`;
}
