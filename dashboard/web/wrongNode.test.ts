import { describe, expect, it } from 'vitest';
import { ApiError, wrongNodeHint } from './api.js';

describe('wrongNodeHint (an action on a call another service node serves)', () => {
  it("names the node and its dashboard for ERR_WRONG_NODE with a URL, nothing otherwise", () => {
    expect(wrongNodeHint(new ApiError('ERR_WRONG_NODE', 'x', 421, { node: 'node-a', url: 'https://a.example:8443/' }))).toBe('this call is served by node-a: act on it from https://a.example:8443/dashboard');
    expect(wrongNodeHint(new ApiError('ERR_WRONG_NODE', 'x', 421, { url: 'javascript:alert(1)' }))).toBeUndefined();
    expect(wrongNodeHint(new ApiError('ERR_WRONG_NODE', 'x', 421))).toBeUndefined();
    expect(wrongNodeHint(new ApiError('ERR_PEER_NOT_FOUND', 'x', 404, { url: 'https://a.example' }))).toBeUndefined();
  });

  it('says the serving node did not answer a forwarded action (ERR_NODE_UNREACHABLE)', () => {
    expect(wrongNodeHint(new ApiError('ERR_NODE_UNREACHABLE', 'x', 503, { node: 'node-a', url: 'http://a.example:8080', roomId: 'r' }))).toBe(
      'node-a, which serves this call, did not answer: try again, or act on it from http://a.example:8080/dashboard',
    );
    expect(wrongNodeHint(new ApiError('ERR_NODE_UNREACHABLE', 'x', 503, { url: 'file:///etc' }))).toBeUndefined();
  });
});
