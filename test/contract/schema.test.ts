import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';
import type { GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { NestFactory } from '@nestjs/core';
import { GraphQLSchemaBuilderModule, GraphQLSchemaFactory } from '@nestjs/graphql';
import { RESOLVERS } from '../../src/cli/print-schema.js';
import * as generated from '../generated/graphql.js';

// graphql through require(): the same copy (CommonJS) that @nestjs/graphql and
// @graphql-inspector use; Vite would hand this file the .mjs copy, and graphql
// refuses types "from another module or realm".
const { buildSchema, isObjectType, Kind, lexicographicSortSchema, parse, printSchema, validate } =
  createRequire(import.meta.url)('graphql') as typeof GraphQL;

/** The SDL the code builds, as src/cli/print-schema.ts prints it (without its header). */
async function sdlFromCode(): Promise<string> {
  const app = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, {
    logger: false,
  });
  await app.init();
  const schema = await app.get(GraphQLSchemaFactory).create(RESOLVERS);
  await app.close();
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}

const root = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(root, p), 'utf8');
const committed = () => buildSchema(read('schema.gql'));
const contract = () => buildSchema(read('test/contract/contract.graphql'));

async function breaking(from: GraphQLSchema, to: GraphQLSchema): Promise<string[]> {
  return (await diff(from, to))
    .filter((c) => c.criticality.level === CriticalityLevel.Breaking)
    .map((c) => c.message);
}

/** schema.gql contains at least the contract baseline (contract.graphql), with these names. */
describe('the public schema', () => {
  it('schema.gql is what the code generates (npm run schema:print)', async () => {
    const withoutHeader = read('schema.gql').replace(/^(#.*\n)+\n/, '');
    expect(await sdlFromCode()).toBe(withoutHeader);
  });

  it('schema.gql has no breaking change against the contract baseline', async () => {
    expect(await breaking(contract(), committed())).toEqual([]);
  });

  it('the breaking-change check does catch one (a removed field, a renamed argument), in Part 1 and Part 2', async () => {
    const sdl = read('schema.gql')
      .replace(/^\s*accessTokenExpiresAt: DateTime!\n/m, '')
      .replace('revokeSession(id: ID!)', 'revokeSession(sessionId: ID!)')
      .replace(/^\s*mfaEnabled: Boolean!\n/m, '')
      .replace('verifyMfa(input: VerifyMfaInput!)', 'verifyMfa(challenge: VerifyMfaInput!)');
    const found = (await breaking(contract(), buildSchema(sdl))).join('\n');
    expect(found).toMatch(/accessTokenExpiresAt/);
    expect(found).toMatch(/revokeSession/);
    expect(found).toMatch(/mfaEnabled/);
    expect(found).toMatch(/verifyMfa/);
  });

  it('User exposes no password or hash field', () => {
    const user = committed().getType('User');
    expect(isObjectType(user)).toBe(true);
    if (!isObjectType(user)) return;
    expect(Object.keys(user.getFields()).filter((f) => /pass|hash|salt|secret/i.test(f))).toEqual(
      [],
    );
  });
});

describe('docs/operations.graphql', () => {
  const doc = parse(read('docs/operations.graphql'));
  const ops = doc.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );

  it('is valid against schema.gql', () => {
    expect(validate(committed(), doc).map((e) => e.message)).toEqual([]);
  });

  it('writes out every query and mutation of the contract, each as a named operation', () => {
    const c = contract();
    const wanted = [
      ...Object.keys(c.getQueryType()!.getFields()).map((f) => `query ${f}`),
      ...Object.keys(c.getMutationType()!.getFields()).map((f) => `mutation ${f}`),
    ].sort();
    const written = ops
      .flatMap((o) =>
        o.selectionSet.selections.map((s) =>
          s.kind === Kind.FIELD ? `${o.operation} ${s.name.value}` : '',
        ),
      )
      .sort();
    expect(written).toEqual(expect.arrayContaining(wanted));
    expect(ops.every((o) => o.name?.value)).toBe(true);
  });

  it('each operation has a typed document in test/generated', () => {
    for (const o of ops) {
      const exported = (generated as Record<string, unknown>)[`${o.name!.value}Document`];
      expect(exported, o.name!.value).toMatchObject({ kind: 'Document' });
    }
  });
});
