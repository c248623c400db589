/**
 * Building blocks shared by every config schema (suite, agents file, sign-off policy): strict
 * objects that remember their keys, so an unknown-key message can list what was expected.
 */
import { z } from 'zod';

const KNOWN_KEYS = Symbol.for('benchalign.suite.knownKeys');

/** A strict object schema with a description; an unknown key is an error at its path. */
export function strict<T extends z.ZodRawShape>(shape: T, description: string, meta: Record<string, unknown> = {}) {
  const schema = z.strictObject(shape).meta({ ...meta, description });
  Object.defineProperty(schema, KNOWN_KEYS, { value: Object.keys(shape), enumerable: false });
  return schema;
}

/** The keys a strict config object accepts, for error messages; undefined for other schemas. */
export function knownKeysOf(schema: unknown): string[] | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const keys = (schema as Record<symbol, unknown>)[KNOWN_KEYS];
  return Array.isArray(keys) ? (keys as string[]) : undefined;
}
