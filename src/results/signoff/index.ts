/** Pre-release sign-off against a policy: see docs/signoff.md. */
export * from './policy.js';
export * from './evaluate.js';
export * from './record.js';
