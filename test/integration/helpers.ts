import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  LoginDocument,
  RegisterDocument,
  type AuthPayloadFieldsFragment,
} from '../generated/graphql.js';
import type { GqlOptions, GqlResponse, TestApp } from '../support/app.js';

export const PASSWORD = 'correct horse battery staple';

/** Sends a typed document (test/generated): data and variables are typed from the operation. */
export function op<TData, TVars extends Record<string, unknown>>(
  t: TestApp,
  doc: TypedDocumentNode<TData, TVars>,
  variables?: TVars,
  opts?: GqlOptions,
): Promise<GqlResponse<TData>> {
  return t.gql<TData>(doc, variables, opts);
}

/** An email no other test uses. */
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}@example.com`;
}

/** Registers a fresh account; fails the test if the server refuses. */
export async function register(
  t: TestApp,
  email = uniqueEmail(),
  password = PASSWORD,
  name?: string,
): Promise<AuthPayloadFieldsFragment & { email: string; password: string }> {
  const r = await op(t, RegisterDocument, { input: { email, password, name } });
  if (r.errors) throw new Error(`register failed: ${JSON.stringify(r.errors)}`);
  return { ...r.data.register, email, password };
}

/** Logs in (a new session); fails the test if the server refuses. */
export async function login(
  t: TestApp,
  email: string,
  password = PASSWORD,
): Promise<AuthPayloadFieldsFragment> {
  const r = await op(t, LoginDocument, { input: { email, password } });
  if (r.errors) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
  return r.data.login;
}

/** The codes of every error of a response, in order. */
export function codes(r: GqlResponse<unknown>): (string | undefined)[] {
  return (r.errors ?? []).map((e) => e.extensions?.code);
}

/** The session id carried in an access token (the `sid` claim). */
export function sessionIdOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString());
  return payload.sid as string;
}
