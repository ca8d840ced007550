import { describe, expect, it } from 'vitest';
import { classifyMediaError, describeDeviceProblem, joinChoices, kindsOf } from './deviceProblems.js';

const err = (name: string): Error => Object.assign(new Error(name), { name });

describe('classifyMediaError', () => {
  it('maps getUserMedia rejections to missing, busy and denied', () => {
    expect(classifyMediaError(err('NotFoundError'))).toBe('missing');
    expect(classifyMediaError(err('OverconstrainedError'))).toBe('missing');
    expect(classifyMediaError(err('NotReadableError'))).toBe('busy');
    expect(classifyMediaError(err('TrackStartError'))).toBe('busy');
    expect(classifyMediaError(err('NotAllowedError'))).toBe('denied');
    expect(classifyMediaError(err('SecurityError'))).toBe('denied');
    expect(classifyMediaError(err('TypeError'))).toBe('failed');
    expect(classifyMediaError('nope')).toBe('failed');
    expect(classifyMediaError(null)).toBe('failed');
  });
});

describe('describeDeviceProblem', () => {
  it('no devices at all: one sentence for both, listen only is the one way in', () => {
    const m = describeDeviceProblem({ audio: 'missing', video: 'missing' });
    expect(m.title).toBe('No camera or microphone was found.');
    expect(m.advice).toContain('Connect one');
    expect(m.advice).toContain('listen only');
    expect(m.choices).toEqual(['listen-only']);
  });

  it('both busy, both denied', () => {
    expect(describeDeviceProblem({ audio: 'busy', video: 'busy' }).title).toBe('Your camera and microphone are in use by another application or browser tab.');
    const denied = describeDeviceProblem({ audio: 'denied', video: 'denied' });
    expect(denied.title).toBe('Camera and microphone access is blocked for this page.');
    expect(denied.advice).toContain('site settings');
  });

  it('camera blocked, microphone fine: offers audio only, then listen only', () => {
    const m = describeDeviceProblem({ audio: 'ok', video: 'denied' });
    expect(m.title).toBe('Camera access is blocked for this page.');
    expect(m.advice).toContain('join with your microphone only');
    expect(m.choices).toEqual(['audio-only', 'listen-only']);
  });

  it('microphone busy, camera fine: offers video only', () => {
    const m = describeDeviceProblem({ audio: 'busy', video: 'ok' });
    expect(m.title).toBe('Your microphone is in use by another application or browser tab.');
    expect(m.choices).toEqual(['video-only', 'listen-only']);
  });

  it('different problems are each named, camera first', () => {
    const m = describeDeviceProblem({ audio: 'missing', video: 'busy' });
    expect(m.title).toBe('Your camera is in use by another application or browser tab. No microphone was found.');
    expect(m.choices).toEqual(['listen-only']);
  });
});

describe('join modes', () => {
  it('choices follow what works; modes name the kinds they send', () => {
    expect(joinChoices({ audio: 'ok', video: 'ok' })).toEqual(['audio-video', 'audio-only', 'video-only', 'listen-only']);
    expect(kindsOf('listen-only')).toEqual([]);
    expect(kindsOf('audio-video')).toEqual(['audio', 'video']);
  });
});
