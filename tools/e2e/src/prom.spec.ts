import { describe, expect, it } from 'vitest';
import { parseMetrics, select, total } from './prom.ts';

const TEXT = `# HELP request_total Total count of HTTP requests.
# TYPE request_total counter
request_total{direction="inbound",tls="true",client_id="web.emojivoto.serviceaccount.identity.trellis.cluster.local"} 68
request_total{direction="inbound",tls="no_identity",no_tls_reason="no_tls_from_remote"} 4
request_total{direction="outbound",tls="true",server_id="voting.emojivoto.serviceaccount.identity.trellis.cluster.local"} 12
process_start_time_seconds 1700000000
odd{v="a \\"quoted\\" \\\\ value"} 1
`;

describe('parseMetrics', () => {
  it('reads names, labels in any order and values, skipping comments', () => {
    const s = parseMetrics(TEXT);
    expect(s).toHaveLength(5);
    expect(s[0]).toMatchObject({ name: 'request_total', value: 68, labels: { direction: 'inbound', tls: 'true' } });
    expect(s[3]).toMatchObject({ name: 'process_start_time_seconds', labels: {}, value: 1700000000 });
    expect(s[4]!.labels['v']).toBe('a "quoted" \\ value');
  });

  it('selects and sums samples whose labels include every given pair', () => {
    const s = parseMetrics(TEXT);
    expect(select(s, 'request_total', { tls: 'true' })).toHaveLength(2);
    expect(total(s, 'request_total', { direction: 'inbound' })).toBe(72);
    expect(total(s, 'request_total', { direction: 'outbound', server_id: 'voting.emojivoto.serviceaccount.identity.trellis.cluster.local' })).toBe(12);
    expect(total(s, 'response_total', {})).toBe(0);
  });
});
