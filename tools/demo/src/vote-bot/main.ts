// vote-bot: steady votes through WEB_HOST, one per VOTE_INTERVAL; prints a summary line every 10 votes.
import { envDuration, envHostPort, serve } from '../config.ts';
import { runBot } from './bot.ts';

await serve('vote-bot', async () => {
  const web = envHostPort(process.env, 'WEB_HOST');
  const intervalMs = envDuration(process.env, 'VOTE_INTERVAL', 1000);
  const abort = new AbortController();
  let n = 0;
  const counts = { ok: 0, failed: 0, errors: 0 };
  process.stdout.write(`vote-bot: voting through ${web} every ${intervalMs} ms\n`);
  const done = runBot(
    {
      web,
      intervalMs,
      onResult: (_choice, status) => {
        if (status === 200) counts.ok++;
        else if (status === 'error') counts.errors++;
        else counts.failed++;
        if (++n % 10 === 0) process.stdout.write(`vote-bot: ${n} votes: ${counts.ok} ok, ${counts.failed} failed, ${counts.errors} errors\n`);
      },
    },
    abort.signal,
  );
  return async () => {
    abort.abort();
    await done;
  };
});
