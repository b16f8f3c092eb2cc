import { describe, expect, it } from 'vitest';
import { explain } from './port-forward.ts';

describe('explain', () => {
  it("turns the WebSocket library's refused-upgrade status into what the API server means", () => {
    expect(explain('Unexpected server response: 403', 'emojivoto')).toBe('the API server answered 403: this user may not create pods/portforward in namespace emojivoto');
    expect(explain('Unexpected server response: 400', 'emojivoto')).toBe("the API server answered 400 to the port-forward (the pod is on no node, or its node's kubelet cannot forward)");
    expect(explain('connect ECONNREFUSED 127.0.0.1:6443', 'emojivoto')).toBe('connect ECONNREFUSED 127.0.0.1:6443');
  });
});
