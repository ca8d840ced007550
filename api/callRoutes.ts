/**
 * Call history and evidence over REST, and the dashboard's history pages. Same operator
 * authentication as every other /v1 route.
 *
 *   GET  /v1/calls                     list (filters: api/callQuery.ts)
 *   GET  /v1/calls/{id}                detail: timelines, challenges, decisions (api/callDetail.ts)
 *   GET  /v1/calls/{id}/evidence       the evidence bundle file (evidence/, docs/evidence.md)
 *   POST /v1/evidence/verify           verifies a bundle's content (the file's layout only offline)
 *   GET  /v1/evidence/key              the public key and fingerprint bundles are sealed with
 *   GET  /dashboard/calls, /dashboard/call?id=…   pages (signed out: redirect to the login page)
 */
import path from 'node:path';
import type { HttpServer, RequestContext } from '../kernel/http/HttpServer.js';
import { RawResponse } from '../kernel/http/HttpServer.js';
import { DfdError } from '../kernel/errors.js';
import { sees, type OperatorAuth } from './OperatorAuth.js';
import type { CallHistory } from './CallHistory.js';
import type { HistoryEntry } from './HistoryEntry.js';
import { parseCallQuery } from './callQuery.js';
import type { EvidenceExporter } from '../evidence/EvidenceExporter.js';
import type { EvidenceCall } from '../evidence/EvidenceBundle.js';
import { renderEvidence } from '../evidence/EvidenceBundle.js';
import { verifyEvidence } from '../evidence/verifyEvidence.js';

export interface CallRoutesDeps {
  auth: OperatorAuth;
  history: CallHistory;
  evidence: EvidenceExporter;
  /** Folder of the built dashboard pages (web-dist). */
  webDir: string;
}

const CALL_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

function callId(ctx: RequestContext): string {
  const v = ctx.params['callId'];
  if (!v || !CALL_ID_RE.test(v)) throw new DfdError('ERR_BAD_REQUEST', 'callId must match [A-Za-z0-9_-]{1,128}', { param: 'callId' });
  return v;
}

/** The call summary an evidence bundle carries. */
export function evidenceCall(e: HistoryEntry): Omit<EvidenceCall, 'firstEventTs' | 'lastEventTs'> {
  return {
    roomId: e.roomId,
    callId: e.callId,
    kind: e.kind,
    startedAt: e.startedAt,
    endedAt: e.endedAt,
    participants: e.participants.map((p) => ({
      peerId: p.peerId,
      displayName: p.displayName,
      joinedAt: p.joinedAt,
      leftAt: p.leftAt,
      finalState: p.finalState,
      finalPFake: p.pFake,
      finalConfidence: p.confidence,
    })),
  };
}

export function registerCallRoutes(http: HttpServer, deps: CallRoutesDeps): void {
  const { auth, history, evidence } = deps;
  const operator = (ctx: RequestContext): string => auth.authenticate(ctx.req).name;
  /** A call the caller may see (a tenant API key: its own tenant's calls only), else ERR_NOT_FOUND. */
  const visibleCall = (ctx: RequestContext): string => {
    const id = callId(ctx);
    const entry = history.entry(id);
    if (entry && !sees(auth.caller(ctx.req), entry.tenant)) throw new DfdError('ERR_NOT_FOUND', 'unknown call');
    return id;
  };
  const page = (file: string) => (ctx: RequestContext) => {
    try {
      operator(ctx);
    } catch {
      return new RawResponse(302, '', { location: '/dashboard/login' });
    }
    return RawResponse.file(path.join(deps.webDir, file));
  };

  http
    .route('GET', '/v1/calls', (ctx) => {
      const who = auth.caller(ctx.req);
      const q = parseCallQuery(ctx.url.searchParams);
      if (who.tenant !== undefined && q.tenant !== undefined && q.tenant !== who.tenant) throw new DfdError('ERR_FORBIDDEN', 'a tenant API key lists its own tenant\'s calls only');
      return history.list(who.tenant !== undefined ? { ...q, tenant: who.tenant } : q);
    })
    .route('GET', '/v1/calls/:callId', async (ctx) => {
      return history.detail(visibleCall(ctx));
    })
    .route('GET', '/v1/calls/:callId/evidence', async (ctx) => {
      const entry = history.entry(visibleCall(ctx));
      if (!entry) throw new DfdError('ERR_NOT_FOUND', 'unknown call');
      const file = await evidence.export(evidenceCall(entry));
      return new RawResponse(200, file.text, {
        'content-type': 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="${file.fileName}"`,
        'cache-control': 'no-store',
      });
    })
    .route('POST', '/v1/evidence/verify', async (ctx) => {
      operator(ctx);
      // The body arrives parsed: its content is verified; byte layout is checked offline (verify-evidence).
      const body = await ctx.json();
      let text: string;
      try {
        text = renderEvidence(body);
      } catch (e) {
        // JSON.parse takes nesting that JSON.stringify cannot write back (call stack): no bundle is like that.
        if (e instanceof RangeError) throw new DfdError('ERR_EVIDENCE_JSON', 'nested too deeply or too large to be a bundle', undefined, { cause: e });
        throw e;
      }
      return verifyEvidence(text);
    })
    .route('GET', '/v1/evidence/key', (ctx) => {
      operator(ctx);
      return { algorithm: 'ed25519', publicKey: evidence.publicKeyPem, keyFingerprint: evidence.keyFingerprint };
    })
    .route('GET', '/dashboard/calls', page('calls.html'))
    .route('GET', '/dashboard/call', page('call.html'));
}
