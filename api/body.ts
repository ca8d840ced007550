/** A request's JSON body checked against its schema (compiled once per schema): ERR_BAD_REQUEST names the first bad path. */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Static, TSchema } from '@sinclair/typebox';
import type { RequestContext } from '../kernel/http/HttpServer.js';
import { DfdError } from '../kernel/errors.js';

const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();

export async function body<S extends TSchema>(ctx: RequestContext, schema: S): Promise<Static<S>> {
  let check = checks.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    checks.set(schema, check);
  }
  const value = await ctx.json();
  if (!check.Check(value)) {
    const e = check.Errors(value).First();
    throw new DfdError('ERR_BAD_REQUEST', e ? `${e.path || '/'}: ${e.message}` : 'invalid body');
  }
  return value as Static<S>;
}
