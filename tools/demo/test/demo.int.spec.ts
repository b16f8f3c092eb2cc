import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metadata, type Server } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { closeGrpc, insecure, listenGrpc, unary } from '../src/grpc.ts';
import { EmojiServiceClient, VotingServiceClient } from '../src/proto.ts';
import { emojiServer } from '../src/emoji/server.ts';
import { votingServer } from '../src/voting/server.ts';
import { webServer } from '../src/web/server.ts';
import { runBot, voteOnce } from '../src/vote-bot/bot.ts';
import { EMOJIS } from '../src/emojis.ts';

let emoji: Server;
let voting: Server;
let web: HttpServer;
let webAddr: string;
let votingPort: number;
const votingRegistry = new Registry();
const clients: { close(): void }[] = [];

beforeAll(async () => {
  emoji = emojiServer(new Registry());
  voting = votingServer(votingRegistry);
  const [ep, vp] = [await listenGrpc(emoji, 0, '127.0.0.1'), await listenGrpc(voting, 0, '127.0.0.1')];
  votingPort = vp;
  const e = new EmojiServiceClient(`127.0.0.1:${ep}`, insecure());
  const v = new VotingServiceClient(`127.0.0.1:${vp}`, insecure());
  clients.push(e, v);
  web = webServer({ emoji: e, voting: v, registry: new Registry() });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webAddr = `127.0.0.1:${(web.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) c.close();
  await new Promise((r) => web.close(r));
  await Promise.all([closeGrpc(emoji), closeGrpc(voting)]);
});

const get = async (path: string) => {
  const res = await fetch(`http://${webAddr}${path}`);
  return { status: res.status, body: (await res.json()) as unknown };
};

describe('the demo app', () => {
  it('lists the catalogue through web from the emoji service over gRPC', async () => {
    const r = await get('/api/list');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(EMOJIS);
  });

  it('counts votes and shows them on the leaderboard, most first', async () => {
    expect((await get('/api/vote?choice=:rocket:')).status).toBe(200);
    expect((await get('/api/vote?choice=:rocket:')).status).toBe(200);
    expect((await get('/api/vote?choice=:taco:')).status).toBe(200);
    expect((await get('/api/leaderboard')).body).toEqual([
      { shortcode: ':rocket:', unicode: '🚀', votes: 2 },
      { shortcode: ':taco:', unicode: '🌮', votes: 1 },
    ]);
  });

  it('fails a vote for the doughnut with a 500 carrying the gRPC error', async () => {
    const r = await get('/api/vote?choice=:doughnut:');
    expect(r).toEqual({ status: 500, body: { error: 'UNKNOWN: cannot vote for :doughnut:' } });
  });

  it('answers 404 for an emoji that does not exist and 400 without a choice', async () => {
    expect((await get('/api/vote?choice=:nope:')).status).toBe(404);
    expect((await get('/api/vote')).status).toBe(400);
  });

  it('serves the page', async () => {
    const res = await fetch(`http://${webAddr}/`);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('/api/vote?choice=');
  });

  it('voting service accepts ordinary shortcodes and answers UNKNOWN for the doughnut', async () => {
    const v = new VotingServiceClient(`127.0.0.1:${votingPort}`, insecure());
    clients.push(v);
    await expect(unary(v, 'Vote', { shortcode: ':fire:' })).resolves.toEqual({});
    await expect(unary(v, 'Vote', { shortcode: ':doughnut:' })).rejects.toMatchObject({ code: 2 });
  });

  it('counts calls by the l5d-client-id the mesh sets, and unmeshed calls under an empty client_id', async () => {
    const v = new VotingServiceClient(`127.0.0.1:${votingPort}`, insecure());
    clients.push(v);
    const meshed = new Metadata();
    meshed.set('l5d-client-id', 'web.emojivoto.serviceaccount.identity.trellis.cluster.local');
    await new Promise((resolve, reject) => v['Results']!({}, meshed, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));
    const text = await votingRegistry.metrics();
    expect(text).toContain('calls_by_client_total{method="Results",client_id="web.emojivoto.serviceaccount.identity.trellis.cluster.local"} 1');
    expect(text).toMatch(/calls_by_client_total\{method="Vote",client_id=""\} [1-9]/);
  });

  it('vote-bot votes steadily and sees the doughnut fail', async () => {
    const doughnut = EMOJIS.findIndex((e) => e.shortcode === ':doughnut:');
    expect((await voteOnce(webAddr, () => doughnut / EMOJIS.length)).status).toBe(500);
    const abort = new AbortController();
    let n = 0;
    const stats = await runBot({ web: webAddr, intervalMs: 1, random: () => 0, doughnutEvery: 4, onResult: () => ++n >= 8 && abort.abort() }, abort.signal);
    expect(stats).toEqual({ ok: 6, failed: 2, errors: 0 });
  });
});
