import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  GraphQLSchemaBuilderModule,
  GraphQLSchemaFactory,
  TypeMetadataStorage,
} from '@nestjs/graphql';
import { getMetadataStorage } from 'class-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESOLVERS } from '../../src/cli/print-schema.js';
import { InputPipe } from '../../src/graphql/input.pipe.js';
import { AppError } from '../../src/common/errors.js';
import { LoginInput, RegisterInput } from '../../src/auth/dto/auth.inputs.js';

/**
 * Validation is the default: every field of every @InputType and @ArgsType
 * class of the schema has a class-validator rule (common/validators.ts), and
 * every argument of every operation is such a class or a scalar that the
 * global InputPipe checks. A new input class without rules fails here.
 */
describe('every GraphQL input is validated', () => {
  beforeAll(async () => {
    // Building the schema makes Nest load the metadata of every resolver's types.
    const app = await NestFactory.createApplicationContext(GraphQLSchemaBuilderModule, {
      logger: false,
    });
    await app.init();
    await app.get(GraphQLSchemaFactory).create(RESOLVERS);
    await app.close();
  });

  it('the resolvers of the schema are all known here', () => {
    expect(RESOLVERS.length).toBeGreaterThan(0);
  });

  it('every field of every input and args class has a rule (IsOptional alone is none)', () => {
    const classes = [
      ...TypeMetadataStorage.getInputTypesMetadata(),
      ...TypeMetadataStorage.getArgumentsMetadata(),
    ];
    expect(classes.length).toBeGreaterThan(4);
    const missing: string[] = [];
    for (const c of classes) {
      const rules = getMetadataStorage()
        .getTargetValidationMetadatas(c.target, '', true, false)
        .filter((m) => m.type !== 'conditionalValidation');
      for (const f of c.properties ?? []) {
        if (!rules.some((r) => r.propertyName === f.name)) missing.push(`${c.name}.${f.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every argument is an input or args class with rules, or a scalar listed here with its check', () => {
    // A scalar argument has no class to carry rules: only InputPipe's check of
    // stored text runs on it, so each one names where its value is checked.
    const checkedScalars: Record<string, string> = {
      // SessionsService.revoke: not a uuid answers false, like any other id.
      'SessionsResolver.revokeSession.id': 'isUuid in SessionsService.revoke',
    };
    const inputClasses = new Set<unknown>(
      TypeMetadataStorage.getInputTypesMetadata().map((c) => c.target),
    );
    const operations = [
      ...TypeMetadataStorage.getQueriesMetadata(),
      ...TypeMetadataStorage.getMutationsMetadata(),
    ];
    expect(operations.length).toBeGreaterThan(10);
    const unchecked: string[] = [];
    for (const op of operations) {
      for (const a of op.methodArgs ?? []) {
        if (a.kind === 'args') continue; // an @ArgsType class: covered by the test above
        const type = a.typeFn();
        const where = `${op.target.name}.${op.methodName}.${a.name}`;
        if (!inputClasses.has(type) && !(where in checkedScalars)) unchecked.push(where);
      }
    }
    expect(unchecked).toEqual([]);
  });
});

describe('InputPipe', () => {
  const pipe = new InputPipe();
  const fail = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(AppError);
    return (e as AppError).details?.fields;
  };

  it('names the field of an input object and of a scalar argument', async () => {
    const inObject = await fail(
      pipe.transform(
        { email: 'a\u0000@example.com', password: 'correct horse' },
        { type: 'body', metatype: RegisterInput, data: 'input' },
      ),
    );
    expect(inObject).toEqual([{ field: 'email', message: 'must not contain a NUL character' }]);
    const scalar = await fail(
      pipe.transform('\ud800', { type: 'body', metatype: String, data: 'token' }),
    );
    expect(scalar).toEqual([
      { field: 'token', message: 'must be valid Unicode (no lone surrogate)' },
    ]);
  });

  it('applies the class rules after that', async () => {
    const fields = await fail(
      pipe.transform(
        { email: 'not-an-email', password: 'short' },
        { type: 'body', metatype: RegisterInput, data: 'input' },
      ),
    );
    expect(fields?.map((f) => f.field).sort()).toEqual(['email', 'password']);
  });

  it('leaves the parameters of custom decorators alone', async () => {
    const v = { anything: 'a\u0000' };
    expect(await pipe.transform(v, { type: 'custom', data: undefined })).toBe(v);
  });
});

describe('InputPipe and passwords', () => {
  it('lets a NUL through in a password (only hashed, every character counts), not elsewhere', async () => {
    const pipe = new InputPipe();
    const ok = { email: 'ada@example.com', password: 'before\u0000after-the-nul' };
    await expect(
      pipe.transform(ok, { type: 'body', metatype: RegisterInput, data: 'input' }),
    ).resolves.toBe(ok);
    await expect(
      pipe.transform(
        { ...ok, name: 'A\u0000' },
        { type: 'body', metatype: RegisterInput, data: 'input' },
      ),
    ).rejects.toBeInstanceOf(AppError);
  });

  it('a login password attempt is limited in UTF-8 bytes (PASSWORD_MAX_BYTES), not in UTF-16 units', async () => {
    const pipe = new InputPipe();
    const login = (password: string) =>
      pipe.transform(
        { email: 'ada@example.com', password },
        { type: 'body', metatype: LoginInput, data: 'input' },
      );
    // 2,048 emoji: 4,096 UTF-16 units, 8,192 bytes
    const refused = await login('😀'.repeat(2048)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).details?.fields).toEqual([
      { field: 'password', message: 'must be at most 4096 bytes' },
    ]);
    // 1,024 emoji: exactly 4,096 bytes
    const ok = { email: 'ada@example.com', password: '😀'.repeat(1024) };
    await expect(login(ok.password)).resolves.toEqual(ok);
  });
});
