/**
 * The SIP message model (RFC 3261) in one import: requests and responses, their header fields,
 * the parser and serializer, the header values a UAS reads, responses built from requests, and
 * the framer for stream transports. Each lives in its own file:
 *
 *   SipHeaders.ts        ordered, case-insensitive, multi-valued header fields, compact forms
 *   sipMessageCodec.ts   parseSipMessage / serializeSipMessage, limits (what they refuse: there)
 *   sipHeaderValues.ts   parseNameAddr, parseVia, parseCSeq
 *   sipResponse.ts       buildResponse (RFC 3261 section 8.2.6)
 *   SipStreamFramer.ts   TCP/TLS byte stream -> raw messages by Content-Length (emitter)
 *
 * Every refusal is DfdError('ERR_SIP_MALFORMED').
 */
export { SipHeaders, canonicalHeaderName, isListHeader, splitHeaderList } from './SipHeaders.js';
export { defaultSipLimits, isKeepAlive, parseSipMessage, serializeSipMessage, type SipLimits, type SipMessageT, type SipRequest, type SipResponse } from './sipMessageCodec.js';
export { parseCSeq, parseHostPort, parseNameAddr, parseParams, parseVia, type CSeq, type NameAddr, type Via } from './sipHeaderValues.js';
export { buildResponse, newTag, type BuildResponseOptions } from './sipResponse.js';
export { SipStreamFramer, defaultSipStreamFramerOptions, type SipStreamFramerEvents, type SipStreamFramerOptions } from './SipStreamFramer.js';
