import { describe, expect, it } from 'vitest';
import { tap } from '@trellis/proto';
import { renderTapJson } from './tap-render.ts';
import { requestEvents } from './tap-events.fixture.ts';

describe('tap -o json', () => {
  it('prints JSON that reads back as the same event', () => {
    const req = requestEvents({ stream: 1, path: '/api/vote', latencyMs: 1 })[0] as tap.TapEvent;
    expect(tap.TapEvent.fromJSON(JSON.parse(renderTapJson(req)))).toEqual(req);
  });
});
