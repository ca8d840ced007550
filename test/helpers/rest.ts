/** One REST request to a test service: JSON in (a string body goes as it is), status and parsed JSON out. */
export interface RestReply {
  status: number;
  json: Record<string, unknown>;
}

export async function restCall(base: string, method: string, path: string, body: unknown, headers: Record<string, string>): Promise<RestReply> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The stable error code of an error reply. */
export const errorCode = (j: Record<string, unknown>): unknown => (j['error'] as { code?: string } | undefined)?.code;
