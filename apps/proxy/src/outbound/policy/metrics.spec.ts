import { describe, expect, it } from 'vitest';
import { errorKind } from './metrics.ts';

describe('errorKind', () => {
  it("names Linkerd's route error kinds", () => {
    expect(['', 'failfast', 'loadshed', 'request timeout', 'response headers timeout', 'response timeout', 'idle timeout', 'i/o', 'h2(CANCEL)', 'h2(REFUSED_STREAM)', 'h2(INTERNAL_ERROR)', 'other'].map(errorKind)).toEqual([
      '',
      'FAIL_FAST',
      'LOAD_SHED',
      'REQUEST_TIMEOUT',
      'RESPONSE_HEADERS_TIMEOUT',
      'RESPONSE_STREAM_TIMEOUT',
      'IDLE_TIMEOUT',
      'IO',
      'CANCEL',
      'REFUSED',
      'RESET',
      'UNKNOWN',
    ]);
  });
});
